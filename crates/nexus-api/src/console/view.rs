//! What the console's sections share: pages of API lists, values shown
//! from API answers, action buttons, and the answer to an action.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::api::Problem;
use super::{pages, Console, Signed};

/// One page of an API list.
#[derive(Deserialize)]
pub struct Page<T> {
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

impl<T> Page<T> {
    /// The `$skiptoken` of the next page, if there is one.
    pub fn next_token(&self) -> Option<String> {
        let query = self.next_link.as_deref()?.split_once('?')?.1;
        let value = query.split('&').find_map(|pair| {
            pair.strip_prefix("$skiptoken=")
                .or_else(|| pair.strip_prefix("%24skiptoken="))
        })?;
        percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .ok()
            .map(|v| v.into_owned())
    }
}

/// The query of a page an action redirects to: what the action did, to
/// confirm it (`confirmation`).
#[derive(Deserialize, Default)]
pub struct Done {
    pub done: Option<String>,
}

/// An optional text field of a form: absent when left empty.
pub fn filled(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A value percent-encoded for a path segment or a query.
pub fn encode(value: &str) -> String {
    super::path_segment(value)
}

/// A field of an API answer as text: strings as they are, numbers and
/// booleans written out, "—" for none.
pub fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        None | Some(Value::Null) => "—".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A `POST` form of one button (and its CSRF token).
pub fn button(signed: &Signed, path: &str, label: &str, accessible_name: &str) -> Markup {
    html! {
        form.inline method="post" action=(path) {
            input type="hidden" name="csrf" value=(signed.csrf(path));
            button type="submit" aria-label=(accessible_name) { (label) }
        }
    }
}

/// The hidden CSRF field of the form posted to `path`.
pub fn csrf_field(signed: &Signed, path: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(signed.csrf(path)); }
}

/// The confirmation an action's redirect asked for (`?done=`), from a fixed
/// set, so no text of the URL is ever shown.
pub fn confirmation(done: Option<&str>, known: &[(&str, &str)]) -> Option<Markup> {
    let text = known.iter().find(|(key, _)| Some(*key) == done)?.1;
    Some(html! { p.confirmation role="status" { (text) } })
}

/// A page that has only a problem to show, with a way back.
pub fn problem_page(signed: &Signed, problem: &Problem, back: (&str, &str)) -> Response {
    let page = pages::layout(
        &problem.title,
        Some(&signed.frame()),
        html! {
            h1 { (problem.title) }
            (pages::problem(problem))
            p { a href=(back.0) { (back.1) } }
        },
    );
    (problem.status, page).into_response()
}

/// The status a page answers with: the refused action's, else 200.
pub fn status_of(refused: Option<&Problem>) -> StatusCode {
    refused.map_or(StatusCode::OK, |p| p.status)
}

/// Makes an action's API call: on success, a redirect to `page` with the
/// confirmation `done` (POST-redirect-GET); else the problem, for the
/// caller to show on the page.
pub async fn act(
    console: &Console,
    signed: &Signed,
    (method, path, body): (Method, String, Option<Value>),
    page: &str,
    done: &str,
) -> Result<Response, Problem> {
    console
        .api
        .call(&signed.caller, method, &path, body)
        .await?;
    Ok(Redirect::to(&format!("{page}?done={done}")).into_response())
}
