//! The console's pages (maud escapes every value written into them).

use maud::{html, Markup, DOCTYPE};
use nexus_service::console::{ActiveSession, SignedInAs};

use super::api::Problem;
use super::{
    AUDIT, HOME, ORGANIZATIONS, ROLES, SCRIPT, SIGN_IN, SIGN_IN_AUTH0, SIGN_OUT, STYLESHEET,
    TENANTS, USERS,
};

/// What every signed-in page shows: who is signed in, and the sign-out
/// form's CSRF token.
pub struct Frame {
    pub who: String,
    pub sign_out: String,
}

/// The sections of the console, in the navigation.
const SECTIONS: &[(&str, &str)] = &[
    (HOME, "Home"),
    (USERS, "Users"),
    (ORGANIZATIONS, "Organizations"),
    (ROLES, "Roles"),
    (TENANTS, "IdP tenants"),
    (AUDIT, "Audit trail"),
];

/// The frame of every page; `frame` adds the navigation and sign-out.
pub fn layout(title: &str, frame: Option<&Frame>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Nexus console" }
                link rel="stylesheet" href=(STYLESHEET);
                @if frame.is_some() {
                    script src=(SCRIPT) defer {}
                }
            }
            body {
                header {
                    a.brand href=(HOME) { "Nexus console" }
                    @if let Some(frame) = frame {
                        nav aria-label="Main" {
                            ul {
                                @for (href, name) in SECTIONS {
                                    li { a href=(href) { (name) } }
                                }
                            }
                        }
                        form.sign-out method="post" action=(SIGN_OUT) {
                            span { "Signed in as " (frame.who) }
                            input type="hidden" name="csrf" value=(frame.sign_out);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (content) }
            }
        }
    }
}

/// A problem the API answered: its title, detail and the failures by field.
pub fn problem(problem: &Problem) -> Markup {
    html! {
        div.problem role="alert" {
            p { strong { (problem.title) } ": " (problem.detail) }
            @if !problem.errors.is_empty() {
                ul {
                    @for (field, messages) in &problem.errors {
                        @for message in messages {
                            li { code { (field) } " " (message) }
                        }
                    }
                }
            }
        }
    }
}

/// The sign-in page; `error` is shown as an alert. With `auth0`, people
/// sign in through Auth0 above the API key form.
pub fn sign_in(csrf: &str, error: Option<&str>, auth0: bool) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(error) = error {
                p role="alert" { (error) }
            }
            @if auth0 {
                section.auth0 aria-labelledby="sign-in-auth0" {
                    h2 #sign-in-auth0 { "With your account" }
                    p { "Sign in with your Auth0 account: the console then acts as your Nexus user, with your roles' permissions." }
                    p { a.button href=(SIGN_IN_AUTH0) { "Sign in with Auth0" } }
                }
                h2 { "With an API key" }
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

pub fn home(frame: &Frame, session: &ActiveSession) -> Markup {
    layout(
        "Home",
        Some(frame),
        html! {
            h1 { "Signed in as " (frame.who) }
            @match &session.who {
                SignedInAs::ApiKey(key) => {
                    p { "API key " code { (key.id) } ", until " (key.expires_at.to_text()) "." }
                }
                SignedInAs::User { user, .. } => {
                    p {
                        "Nexus user " a href=(format!("{USERS}/{}", super::path_segment(&user.id))) { code { (user.id) } }
                        @if let Some(email) = &user.email_address {
                            " (" (email) ")"
                        }
                        ", signed in through Auth0, until " (session.session.expires_at.to_text()) "."
                    }
                }
            }
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

pub fn not_found(frame: &Frame) -> Markup {
    layout(
        "Not found",
        Some(frame),
        html! {
            h1 { "Not found" }
            p { "The console has no such page. " a href=(HOME) { "Go to the home page." } }
        },
    )
}

/// Signed in through Auth0: the session cookie is set, and the browser
/// moves on to the home page from this page of the console's own (a
/// SameSite=Strict cookie set during Auth0's cross-site redirects would not
/// be sent on a redirect's next hop).
pub fn signed_in(who: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content=(format!("0;url={HOME}"));
                title { "Signed in · Nexus console" }
                link rel="stylesheet" href=(STYLESHEET);
            }
            body {
                main {
                    h1 { "Signed in as " (who) }
                    p { a href=(HOME) { "Continue to the console." } }
                }
            }
        }
    }
}

/// A refused sign-in through Auth0: why, and the way back to sign-in.
pub fn sign_in_refused(title: &str, detail: &str) -> Markup {
    layout(
        title,
        None,
        html! {
            h1 { (title) }
            p role="alert" { (detail) }
            p { a href=(SIGN_IN) { "Back to sign-in." } }
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
