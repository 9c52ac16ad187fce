//! The console's pages (maud escapes every value written into them).

use maud::{html, Markup, DOCTYPE};
use nexus_service::console::ActiveSession;

use super::{HOME, SIGN_IN, SIGN_OUT, STYLESHEET};

/// The frame of every page. `signed_in` adds the navigation with the
/// sign-out button (the CSRF token of the sign-out form).
fn layout(title: &str, signed_in: Option<&str>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Nexus console" }
                link rel="stylesheet" href=(STYLESHEET);
            }
            body {
                header {
                    a href=(HOME) { "Nexus console" }
                    @if let Some(sign_out) = signed_in {
                        nav aria-label="Main" {
                            a href=(HOME) { "Home" }
                            form method="post" action=(SIGN_OUT) {
                                input type="hidden" name="csrf" value=(sign_out);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (content) }
            }
        }
    }
}

/// The sign-in form; `error` is shown as an alert.
pub fn sign_in(csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(error) = error {
                p role="alert" { (error) }
            }
            p { "Sign in with a Nexus API key: the console then acts with the key's permissions." }
            form.stacked method="post" action=(SIGN_IN) {
                input type="hidden" name="csrf" value=(csrf);
                label for="key-id" {
                    "Key id"
                    input #key-id type="text" name="keyId" required autocomplete="username"
                        autocapitalize="none" spellcheck="false";
                }
                label for="secret" {
                    "Secret"
                    input #secret type="password" name="secret" required
                        autocomplete="current-password";
                }
                button type="submit" { "Sign in" }
            }
        },
    )
}

pub fn home(session: &ActiveSession, sign_out: &str) -> Markup {
    let key = &session.key;
    let name = key.description.as_deref().unwrap_or(&key.id);
    layout(
        "Home",
        Some(sign_out),
        html! {
            h1 { "Signed in as " (name) }
            p { "API key " code { (key.id) } ", until " (key.expires_at.to_text()) "." }
            h2 { "Permissions held" }
            @if session.permissions.codes().is_empty() {
                p { "None." }
            } @else {
                ul.permissions {
                    @for code in session.permissions.codes() {
                        li { (code) }
                    }
                }
            }
        },
    )
}

pub fn not_found(_session: &ActiveSession, sign_out: &str) -> Markup {
    layout(
        "Not found",
        Some(sign_out),
        html! {
            h1 { "Not found" }
            p { "The console has no such page. " a href=(HOME) { "Go to the home page." } }
        },
    )
}

/// An error: the problem's title and detail.
pub fn error(title: &str, detail: &str) -> Markup {
    layout(
        title,
        None,
        html! {
            h1 { (title) }
            p role="alert" { (detail) }
        },
    )
}
