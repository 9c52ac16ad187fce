use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::user::{CreateUserBody, PatchUserBody, User};
use nexus_core::ValidationErrors;
use nexus_service::{users, Nexus};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiResult};
use crate::actor::{CurrentActor, CurrentAuthority};
use crate::json::ApiJson;
use crate::list::{Envelope, ListOptions, ListOptionsDoc};
use crate::path::ApiPath;
use crate::problem::{ApiError, Problem};

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(create_user, list_users))
        .routes(routes!(get_user, patch_user, delete_user))
        .routes(routes!(send_user_password_reset))
        .routes(routes!(send_user_email_verification))
}

/// Creates a user (CreateUser): member of its organization and, with
/// `idpMetadata`, linked to its existing account in the IdP tenant.
#[utoipa::path(post, path = "/v1/users", tag = "Users", request_body = CreateUserBody,
    responses(
        (status = 201, body = User),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Conflicts with what is stored; for one, an application deployment `applications` chooses is full", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller does not hold a permission it tries to give, or `role.write` (for `roles`) or `application.deployment.user.write` (for `applications`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`idpTenantId`, `organization` or `ownerId` names nothing that exists, a role of `roles` does not exist, or an entry of `applications` names no live deployment in the organization, or several (`errors` says which); or the IdP tenant has Management credentials and its Auth0 tenant refuses the account (unknown user or connection)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_user(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiJson(body): ApiJson<CreateUserBody>,
) -> ApiResult<Response> {
    let user = users::create(&nexus, &actor, &authority, body).await?;
    Ok(created(format!("/v1/users/{}", user.id), user))
}

/// Lists users.
#[utoipa::path(get, path = "/v1/users", tag = "Users", params(ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<User>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_users(
    State(nexus): State<Nexus>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<User>>> {
    let params = options.params(&users::LIST)?;
    let page = users::list(&nexus, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Gets a user with its UPNs, identities, attributes, roles and memberships.
#[utoipa::path(get, path = "/v1/users/{userId}", tag = "Users", params(("userId" = String, Path)),
    responses(
        (status = 200, body = User),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_user(
    State(nexus): State<Nexus>,
    ApiPath(user_id): ApiPath<String>,
) -> ApiResult<Json<User>> {
    // The OData function shares the `{userId}` segment (see find_user_by_connection).
    if let Some(arguments) = user_id.strip_prefix(FIND_BY_CONNECTION) {
        let (connection, azo_user_id) = parse_find_arguments(arguments)?;
        return find_user_by_connection(State(nexus), connection, azo_user_id).await;
    }
    Ok(Json(users::get(&nexus, &user_id).await?))
}

/// Updates the given properties of a user (PatchUser); absent or null fields
/// are left as they are. A `password` is set on the user's Auth0 database
/// account first (needs `user.password` besides `user.write`); if Auth0
/// refuses it or cannot be reached, nothing is changed. A new
/// `emailAddress` is unverified (unless `emailVerified` says otherwise) and
/// is pushed to the user's Auth0 database accounts, which e-mail it a
/// verification link; the status becomes `Pending` once they have.
#[utoipa::path(patch, path = "/v1/users/{userId}", tag = "Users", params(("userId" = String, Path)),
    request_body = PatchUserBody,
    responses(
        (status = 200, body = User),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`password` given without the `user.password` permission", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`emailAddress` is another user's (whatever its case); or `password` given for a user without an Auth0 database account, or whose IdP tenant has no Management credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Auth0 refused the password (its password policy); the detail quotes Auth0", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Auth0 could not be reached to set the password; nothing was changed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn patch_user(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(body): ApiJson<PatchUserBody>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        users::update(&nexus, &actor, &authority, &user_id, body).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeleteUserQuery {
    /// `true`: the Auth0 accounts Nexus created for the user are kept (they
    /// only lose Nexus's `app_metadata` keys). By default they are deleted.
    keep_auth0_accounts: Option<bool>,
}

/// Deletes a user with its UPNs, identities, groups, attributes and
/// memberships. In Auth0, the database accounts Nexus created for the user
/// are deleted (unless `keepAuth0Accounts=true`) and the other linked
/// accounts lose Nexus's `app_metadata` keys, through the push outbox: if
/// Auth0 is down, that happens once it answers again.
#[utoipa::path(delete, path = "/v1/users/{userId}", tag = "Users",
    params(("userId" = String, Path), DeleteUserQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_user(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(user_id): ApiPath<String>,
    query: Result<Query<DeleteUserQuery>, QueryRejection>,
) -> ApiResult<StatusCode> {
    let Query(query) =
        query.map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))?;
    let keep = query.keep_auth0_accounts.unwrap_or(false);
    users::delete(&nexus, &actor, &user_id, keep).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PasswordResetQuery {
    /// The Auth0 application (client id) the reset link returns to.
    #[param(required = true, min_length = 1, max_length = 100)]
    client_id: Option<String>,
}

/// Has Auth0 e-mail the user a link to set a new password of their Auth0
/// database account (the Authentication API's
/// `POST /dbconnections/change_password`), returning to the application
/// `clientId`. Needs `user.password`. Nothing changes in Nexus.
#[utoipa::path(post, path = "/v1/users/{userId}/password-reset", tag = "Users",
    params(("userId" = String, Path), PasswordResetQuery),
    responses(
        (status = 204, description = "Auth0 sent the e-mail"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user has no Auth0 database account, or its IdP tenant has no Management credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Auth0 refused (an unknown application, say); the detail quotes Auth0", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Auth0 could not be reached; no e-mail was sent", body = Problem, content_type = "application/problem+json"),
    ))]
async fn send_user_password_reset(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(user_id): ApiPath<String>,
    query: Result<Query<PasswordResetQuery>, QueryRejection>,
) -> ApiResult<StatusCode> {
    let Query(query) =
        query.map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))?;
    users::send_password_reset(&nexus, &actor, &user_id, query.client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Has Auth0 e-mail the user's database account a link that verifies its
/// address (`POST /api/v2/jobs/verification-email`); the user's
/// `email-verify-sent-date` becomes now and its status `Pending`.
#[utoipa::path(post, path = "/v1/users/{userId}/email-verification", tag = "Users",
    params(("userId" = String, Path)),
    responses(
        (status = 204, description = "Auth0 sent the e-mail"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address is verified already, the user has no Auth0 database account, or its IdP tenant has no Management credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Auth0 refused; the detail quotes Auth0", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Auth0 could not be reached; no e-mail was sent and nothing changed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn send_user_email_verification(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(user_id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    users::send_email_verification(&nexus, &actor, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

const FIND_BY_CONNECTION: &str = "FindUserByConnection";

/// Whether a request path calls the OData function, which only GET (and
/// HEAD) serve although it shares its route with `/v1/users/{userId}`.
pub(crate) fn calls_find_by_connection(path: &str) -> bool {
    path.strip_prefix("/v1/users/").is_some_and(|rest| {
        rest.starts_with(FIND_BY_CONNECTION) && rest[FIND_BY_CONNECTION.len()..].starts_with('(')
    })
}

/// Finds the user holding an Auth0 account (FindUserByConnection). Values are
/// OData string literals: single-quoted, a quote inside doubled.
#[utoipa::path(get, path = "/v1/users/FindUserByConnection(azoConnectionId='{azoConnectionId}',azoUserId='{azoUserId}')",
    tag = "Users", operation_id = "FindUserByConnection",
    params(
        ("azoConnectionId" = String, Path, description = "Auth0 connection id or name"),
        ("azoUserId" = String, Path, description = "Auth0 user id"),
    ),
    responses(
        (status = 200, body = User),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Accounts of several users match", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn find_user_by_connection(
    State(nexus): State<Nexus>,
    connection: String,
    azo_user_id: String,
) -> ApiResult<Json<User>> {
    Ok(Json(
        users::find_by_connection(&nexus, &connection, &azo_user_id).await?,
    ))
}

/// Parses `(azoConnectionId='…',azoUserId='…')`, in either order.
fn parse_find_arguments(text: &str) -> Result<(String, String), ApiError> {
    let invalid = |why: &str| {
        ApiError::validation(ValidationErrors::single(
            FIND_BY_CONNECTION,
            format!("{why}; expected FindUserByConnection(azoConnectionId='…',azoUserId='…')"),
        ))
    };
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| invalid("the arguments must be in parentheses"))?;
    let mut rest = inner.trim_start();
    let (mut connection, mut user) = (None, None);
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| invalid("an argument has no '='"))?;
        let (value, after) = odata_string(after.trim_start())
            .ok_or_else(|| invalid("a value is not a quoted string"))?;
        match name.trim() {
            "azoConnectionId" if connection.is_none() => connection = Some(value),
            "azoUserId" if user.is_none() => user = Some(value),
            other => return Err(invalid(&format!("unexpected argument '{other}'"))),
        }
        rest = after.trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
        } else if !rest.is_empty() {
            return Err(invalid("arguments must be separated by ','"));
        }
    }
    match (connection, user) {
        (Some(c), Some(u)) if !c.is_empty() && !u.is_empty() => Ok((c, u)),
        _ => Err(invalid(
            "both azoConnectionId and azoUserId are required and non-empty",
        )),
    }
}

/// Reads a leading `'…'` literal (`''` is a quote); returns it and the rest.
fn odata_string(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('\'')?.char_indices().peekable();
    let body = &text[1..];
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|&(_, next)| next == '\'') {
                chars.next();
                value.push('\'');
            } else {
                return Some((value, &body[i + 1..]));
            }
        } else {
            value.push(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_orders_and_escapes() {
        let parsed =
            parse_find_arguments("(azoConnectionId='Username-Password',azoUserId='auth0|1')")
                .unwrap();
        assert_eq!(
            parsed,
            ("Username-Password".to_owned(), "auth0|1".to_owned())
        );
        let parsed =
            parse_find_arguments("( azoUserId = 'o''brien' , azoConnectionId='c' )").unwrap();
        assert_eq!(parsed, ("c".to_owned(), "o'brien".to_owned()));
    }

    #[test]
    fn the_documented_pattern_is_the_literal_rule() {
        let pattern = regex::Regex::new(nexus_core::patterns::ODATA_STRING_CONTENT).unwrap();
        let values = [
            "c", "o''brien", "'", "a'b", "", "a,b", "a)b", "x''", "''", "'''",
        ];
        for value in values {
            let call = format!("(azoConnectionId='{value}',azoUserId='u')");
            assert_eq!(
                pattern.is_match(value),
                parse_find_arguments(&call).is_ok(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "(azoConnectionId='c')",
            "(azoConnectionId='c',azoUserId=u)",
            "(azoConnectionId='c',azoUserId='u',x='y')",
            "(azoConnectionId='c' azoUserId='u')",
            "(azoConnectionId='c',azoUserId='u'",
            "(azoConnectionId='',azoUserId='u')",
        ] {
            assert!(parse_find_arguments(bad).is_err(), "{bad:?} accepted");
        }
    }
}
