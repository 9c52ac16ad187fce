//! The Nexus REST API v1: one router per resource, merged in `app`, with the
//! OpenAPI document generated from the same route table.

mod actor;
pub mod auth;
mod client_address;
pub mod console;
mod json;
mod list;
mod path;
mod problem;
pub mod request_id;
mod routes;
mod schema_rules;
mod shape;
mod trace_context;

use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use nexus_service::metrics::RequestLabels;
use nexus_service::Nexus;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use problem::Problem;
pub use request_id::RequestId;

/// How the application bounds each request.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// The longest a request may take, from its head to its response.
    pub request_timeout: Duration,
    /// Traces are exported (OpenTelemetry): each request continues its
    /// caller's trace and its span carries the HTTP attributes.
    pub traced: bool,
    /// The console's cookies carry `Secure`: off only when the server
    /// listens on loopback (plain HTTP on the same machine).
    pub console_secure_cookies: bool,
    /// People sign in to the console through this Auth0 tenant; without
    /// it, only API keys sign in.
    pub console_auth0: Option<nexus_service::console_auth0::ConsoleAuth0Config>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            request_timeout: Duration::from_secs(30),
            traced: false,
            console_secure_cookies: true,
            console_auth0: None,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nexus API",
        description = "The identity hub that keeps Auth0 tenants in step with the user directory."
    ),
    tags(
        (name = "Users"), (name = "Me"), (name = "Custom UPNs"), (name = "Identities"),
        (name = "IdP tenants"), (name = "Organizations"), (name = "Products"), (name = "Applications"), (name = "Subscriptions"), (name = "Application deployments"), (name = "Upsell"), (name = "Roles"), (name = "API keys"), (name = "STS clients"), (name = "Push"), (name = "Audit"), (name = "Webhooks"), (name = "Health")
    ),
    // The OData function shares `/v1/users/{userId}` with GET user, so it is
    // routed there and documented here.
    paths(routes::users::find_user_by_connection),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

/// The two ways to authenticate: "Bearer and ApplicationToken", or "Basic".
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "Basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("An API key as keyId:secret"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "Bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from a trusted Auth0 tenant"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "LogStreamToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An IdP tenant's log-stream token (its logStreamToken), sent by the tenant's Auth0 log stream",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "ApplicationToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "ApplicationToken",
                "The calling application's API key, sent with a Bearer token",
            ))),
        );
    }
}

/// The route table, with the OpenAPI document describing it.
fn routes() -> OpenApiRouter<Nexus> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::router())
        .merge(routes::users::router())
        .merge(routes::me::router())
        .merge(routes::custom_upns::router())
        .merge(routes::identities::router())
        .merge(routes::idp_tenants::router())
        .merge(routes::imports::router())
        .merge(routes::log_stream::router())
        .merge(routes::reconciliations::router())
        .merge(routes::tenant_clients::router())
        .merge(routes::organizations::router())
        .merge(routes::members::router())
        .merge(routes::organization_aliases::router())
        .merge(routes::organization_domains::router())
        .merge(routes::member_imports::router())
        .merge(routes::products::router())
        .merge(routes::applications::router())
        .merge(routes::roles::router())
        .merge(routes::sync::router())
        .merge(routes::api_keys::router())
        .merge(routes::sts_clients::router())
        .merge(routes::subscriptions::router())
        .merge(routes::application_deployments::router())
        .merge(routes::upsell::router())
        .merge(routes::push::router())
        .merge(routes::audit::router())
        .merge(routes::webhooks::router())
        .merge(routes::ops::router())
}

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = routes().split_for_parts().1;
    complete(&mut api);
    api
}

/// Adds what the annotations leave to the route table and the middleware:
/// security and the answers of authentication, body parsing and timeouts,
/// and one style of operation ids.
fn complete(api: &mut utoipa::openapi::OpenApi) {
    document_access(api);
    document_bodies(api);
    document_lists(api);
    document_common_responses(api);
    schema_rules::document(api);
    name_operations(api);
}

/// The list each list route reads.
fn lists() -> [(&'static str, &'static nexus_core::list_query::ListSpec); 20] {
    use nexus_service::*;
    [
        ("/v1/users", &users::LIST),
        ("/v1/users/{userId}/custom-upns", &custom_upns::LIST),
        ("/v1/users/{userId}/idp_tenants", &identities::LIST),
        ("/v1/idp_tenants", &idp_tenants::LIST),
        ("/v1/organizations", &organizations::LIST),
        ("/v1/organizations/{organizationId}/members", &members::LIST),
        (
            "/v1/organizations/{organizationId}/domains",
            &organization_domains::LIST,
        ),
        ("/v1/products", &products::LIST),
        ("/v1/applications", &applications::LIST),
        (
            "/v1/application-deployments",
            &application_deployments::LIST,
        ),
        (
            "/v1/application-deployments/{appDeploymentId}/users",
            &application_deployments::USER_LIST,
        ),
        ("/v1/roles", &roles::LIST),
        ("/v1/roles/{roleId}/connection-maps", &roles::MAP_LIST),
        ("/v1/api-keys", &api_keys::LIST),
        ("/v1/audit-events", &audit::LIST),
        ("/v1/webhooks", &webhooks::LIST),
        ("/v1/webhooks/{webhookId}/deliveries", &webhooks::DELIVERIES),
        ("/v1/subscriptions", &subscriptions::LIST),
        (
            "/v1/subscriptions/{subscriptionId}/logs",
            &subscriptions::LOG_LIST,
        ),
        ("/v1/upsell-requests", &upsell::LIST),
    ]
}

/// Each list's `$orderby` names the fields of that list.
fn document_lists(api: &mut utoipa::openapi::OpenApi) {
    document_memory_list(api);
    document_shapes(api);
    let stale_token =
        problem_response("`$skiptoken` is not from an `@odata.nextLink` of this same query");
    for (path, spec) in lists() {
        if let Some(get) = api
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.get.as_mut())
        {
            list::document_orderby(get, spec);
            add_response(get, "422", &stale_token);
        }
    }
}

/// The tenant's applications, a list paged in memory: its `$orderby` and
/// its `$select`.
fn document_memory_list(api: &mut utoipa::openapi::OpenApi) {
    use nexus_core::tenant_client::{FIELDS, LIST};
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    let Some(get) = api
        .paths
        .paths
        .get_mut(routes::tenant_clients::LIST_PATH)
        .and_then(|item| item.get.as_mut())
    else {
        return;
    };
    list::document_orderby(get, &LIST);
    for parameter in get.parameters.iter_mut().flatten() {
        if parameter.name == "$select" {
            if let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut() {
                schema.pattern = Some(nexus_core::list_query::select_pattern(FIELDS));
            }
            parameter.description = Some(format!(
                "{} Fields: {}.",
                parameter.description.as_deref().unwrap_or_default(),
                FIELDS.join(", ")
            ));
        }
    }
}

/// The `$select` and `$expand` of each read that takes them: the names
/// they accept, as patterns.
fn document_shapes(api: &mut utoipa::openapi::OpenApi) {
    use nexus_core::list_query::select_pattern;
    use routes::members::MEMBERSHIP_SHAPE;
    use routes::organizations::ORGANIZATION_SHAPE;
    use routes::products::PRODUCT_SHAPE;
    use routes::subscriptions::SUBSCRIPTION_SHAPE;
    use routes::upsell::UPSELL_REQUEST_SHAPE;
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    let shaped = [
        ("/v1/organizations", &ORGANIZATION_SHAPE),
        ("/v1/organizations/{organizationId}", &ORGANIZATION_SHAPE),
        (
            "/v1/organizations/{organizationId}/members",
            &MEMBERSHIP_SHAPE,
        ),
        (
            "/v1/organizations/{organizationId}/members/{userId}",
            &MEMBERSHIP_SHAPE,
        ),
        ("/v1/products", &PRODUCT_SHAPE),
        ("/v1/products/{productId}", &PRODUCT_SHAPE),
        ("/v1/subscriptions", &SUBSCRIPTION_SHAPE),
        ("/v1/subscriptions/{subscriptionId}", &SUBSCRIPTION_SHAPE),
        (
            "/v1/upsell-requests/{upsellRequestId}",
            &UPSELL_REQUEST_SHAPE,
        ),
    ];
    for (path, shape) in shaped {
        let Some(get) = api
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.get.as_mut())
        else {
            continue;
        };
        for parameter in get.parameters.iter_mut().flatten() {
            let names = match parameter.name.as_str() {
                "$select" => shape.fields,
                "$expand" => shape.expansions,
                _ => continue,
            };
            if let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut() {
                schema.pattern = Some(select_pattern(names));
            }
            parameter.description = Some(format!(
                "{} Names: {}.",
                parameter.description.as_deref().unwrap_or_default(),
                names.join(", ")
            ));
        }
    }
}

/// Every operation of the document, mutably, with its path.
fn operations(
    api: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<
    Item = (
        &String,
        axum::http::Method,
        &mut utoipa::openapi::path::Operation,
    ),
> {
    use axum::http::Method;
    api.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            (Method::GET, &mut item.get),
            (Method::POST, &mut item.post),
            (Method::PUT, &mut item.put),
            (Method::PATCH, &mut item.patch),
            (Method::DELETE, &mut item.delete),
        ]
        .into_iter()
        .filter_map(move |(method, operation)| Some((path, method, operation.as_mut()?)))
    })
}

/// A problem response with `description`.
fn problem_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

/// Adds `response` under `status` unless the operation documents its own.
fn add_response(
    operation: &mut utoipa::openapi::path::Operation,
    status: &str,
    response: &utoipa::openapi::RefOr<utoipa::openapi::Response>,
) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| response.clone());
}

/// What every operation with a JSON body can answer before its handler runs.
fn document_bodies(api: &mut utoipa::openapi::OpenApi) {
    let malformed = problem_response(
        "The body is not valid JSON for this operation, or a field breaks its rule (see `errors`)",
    );
    let too_large = problem_response(&format!(
        "The body is larger than {} bytes",
        json::BODY_LIMIT
    ));
    let not_json = problem_response("The body is not declared as JSON (Content-Type)");
    for (_, _, operation) in operations(api) {
        if operation.request_body.is_none() {
            continue;
        }
        add_response(operation, "400", &malformed);
        add_response(operation, "413", &too_large);
        add_response(operation, "415", &not_json);
    }
}

/// Each route's operation id, as the document names it. The OData function
/// is served by GET /v1/users/{userId}, so it is left out.
fn operation_ids(api: &mut utoipa::openapi::OpenApi) -> auth::Operations {
    operations(api)
        .filter(|(path, _, _)| !routes::users::calls_find_by_connection(path))
        .filter_map(|(path, method, operation)| {
            Some(((method, path.clone()), operation.operation_id.clone()?))
        })
        .collect()
}

/// Operation ids in one style, PascalCase (`SyncUserIdentity`): an
/// annotation without its own id gets its handler's name, in snake_case.
fn name_operations(api: &mut utoipa::openapi::OpenApi) {
    for (_, _, operation) in operations(api) {
        if let Some(id) = operation.operation_id.as_mut() {
            *id = pascal_case(id);
        }
    }
}

fn pascal_case(name: &str) -> String {
    name.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// What every operation can answer: `X-Request-Id` on each response, and a
/// 503 when the request timeout passes or the database cannot be reached.
fn document_common_responses(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, ResponseBuilder, Type};
    let unavailable = ResponseBuilder::new()
        .description(
            "Not answered within the server's request timeout, or the database cannot be \
             reached; nothing was committed unless a later read shows it. Retry after the \
             seconds in Retry-After.",
        )
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .build(),
        )
        .build();
    let request_id = HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(request_id::MAX_LEN)),
        )
        .description(Some(format!(
            "The request's id: the caller's own X-Request-Id when it is 1 to {} visible \
             ASCII characters, otherwise a new UUID. Problem responses repeat it as `requestId`.",
            request_id::MAX_LEN
        )))
        .build();
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            responses
                .entry("503".to_owned())
                .or_insert_with(|| RefOr::T(unavailable.clone()));
            for response in responses.values_mut() {
                if let RefOr::T(response) = response {
                    response
                        .headers
                        .insert(request_id::HEADER.to_string(), request_id.clone());
                }
            }
        }
    }
}

/// Each protected operation gets its security requirements ("Bearer and
/// ApplicationToken", or "Basic"), its permission from `auth::ROUTES`, and
/// the answers the authentication middleware can give.
fn document_access(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::extensions::ExtensionsBuilder;
    use utoipa::openapi::security::SecurityRequirement;
    let unauthorized =
        problem_response("No credentials, or credentials that are unknown, expired or revoked");
    let forbidden =
        problem_response("The credentials do not hold the permission this operation requires");
    let not_a_user = problem_response(
        "The credentials are an API key or a client's token, which act as no user",
    );
    let throttled = problem_response(
        "Too many failed authentications with these credentials from this address; retry after \
         the seconds in Retry-After",
    );
    for (path, method, operation) in operations(api) {
        // The OData function is served by GET /v1/users/{userId}.
        let routed = if routes::users::calls_find_by_connection(path) {
            "/v1/users/{userId}"
        } else {
            path
        };
        let Some(access) = auth::access(&method, routed).filter(|a| *a != auth::Access::Open)
        else {
            continue;
        };
        let bearer = SecurityRequirement::new("Bearer", Vec::<String>::new())
            .add("ApplicationToken", Vec::<String>::new());
        operation.security = Some(if access == auth::Access::LogStreamToken {
            vec![SecurityRequirement::new(
                "LogStreamToken",
                Vec::<String>::new(),
            )]
        } else if access == auth::Access::User {
            vec![bearer]
        } else {
            vec![
                bearer,
                SecurityRequirement::new("Basic", Vec::<String>::new()),
            ]
        });
        add_response(operation, "401", &unauthorized);
        add_response(operation, "429", &throttled);
        let note = match access {
            auth::Access::User => {
                add_response(operation, "403", &not_a_user);
                "\n\nRequires a user's own access token (Bearer with ApplicationToken), \
                 with any permissions; it acts on that user."
                    .to_owned()
            }
            auth::Access::Requires(permission) => {
                add_response(operation, "403", &forbidden);
                let extension = ExtensionsBuilder::new()
                    .add("x-nexus-permission", permission)
                    .build();
                match &mut operation.extensions {
                    Some(existing) => existing.merge(extension),
                    None => operation.extensions = Some(extension),
                }
                format!("\n\nRequires the `{permission}` permission.")
            }
            auth::Access::LogStreamToken => {
                "\n\nAuthenticated by the tenant's log-stream token (`Authorization: Bearer \
                 <logStreamToken>`), not by Nexus credentials."
                    .to_owned()
            }
            auth::Access::Scoped { owned, all } => {
                add_response(operation, "403", &forbidden);
                let extension = ExtensionsBuilder::new()
                    .add("x-nexus-permission", owned)
                    .add("x-nexus-permission-all", all)
                    .build();
                match &mut operation.extensions {
                    Some(existing) => existing.merge(extension),
                    None => operation.extensions = Some(extension),
                }
                format!(
                    "\n\nRequires the `{owned}` permission, for what the caller owns, or \
                     `{all}`, for everything (a bare `read` or `write` grants it)."
                )
            }
            auth::Access::Authenticated | auth::Access::Open => {
                "\n\nRequires valid credentials, with any permissions.".to_owned()
            }
        };
        operation.description = Some(operation.description.take().unwrap_or_default() + &note);
    }
}

/// The whole HTTP application, with the default bounds.
pub fn app(nexus: Nexus) -> Router {
    app_with(nexus, AppOptions::default())
}

/// The whole HTTP application.
pub fn app_with(nexus: Nexus, options: AppOptions) -> Router {
    let (router, mut api) = routes().split_for_parts();
    complete(&mut api);
    let gate = auth::Gate {
        nexus: nexus.clone(),
        operations: std::sync::Arc::new(operation_ids(&mut api)),
    };
    let observed = Observed {
        nexus: nexus.clone(),
        request_timeout: options.request_timeout,
        traced: options.traced,
    };
    let api: Router = router
        .merge(SwaggerUi::new("/docs").url("/openapi.json", api))
        .route_layer(middleware::from_fn_with_state(gate, auth::authorize))
        .with_state(nexus.clone());
    // The console authenticates by its own session, not the API's, and
    // calls the API's routes as that session.
    let console = console::router(
        nexus,
        console::Api::new(api.clone()),
        options.console_secure_cookies,
        options.console_auth0,
    );
    api.merge(console)
        .route_layer(middleware::from_fn_with_state(options.traced, tag_route))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(json::BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_panic| {
            problem::ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "the request failed unexpectedly; nothing was committed",
            )
            .into_response()
        }))
        .layer(middleware::from_fn_with_state(observed, observe))
        .layer(middleware::from_fn(console::security_headers))
}

#[derive(Clone)]
struct Observed {
    nexus: Nexus,
    request_timeout: Duration,
    traced: bool,
}

/// One span, one log line and one metrics observation per request, each
/// with the request id; the path and id are kept for problem responses. The
/// request is answered within the request timeout.
async fn observe(State(observed): State<Observed>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let id = RequestId::of(request.headers());
    request
        .headers_mut()
        .insert(request_id::HEADER, id.header_value());
    request.extensions_mut().insert(id.clone());
    let span = tracing::info_span!(
        "request",
        %method,
        %path,
        request_id = %id,
        otel.name = tracing::field::Empty,
        otel.kind = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    if observed.traced {
        trace_context::start(&span, &request);
    }
    let context = problem::RequestContext {
        path,
        id: id.to_string(),
    };
    let started = Instant::now();
    let mut response = problem::REQUEST
        .scope(context, within(observed.request_timeout, next.run(request)))
        .instrument(span.clone())
        .await;
    response
        .headers_mut()
        .insert(request_id::HEADER, id.header_value());
    let nexus = observed.nexus;
    let elapsed = started.elapsed();
    let matched = response.extensions().get::<MatchedPath>();
    if observed.traced {
        trace_context::finish(&span, method.as_str(), matched.is_some(), response.status());
    }
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = format!("{:.2}", elapsed.as_secs_f64() * 1000.0),
            "request"
        )
    });
    let route = matched.map_or("unmatched", MatchedPath::as_str);
    nexus.metrics().observe_request(
        RequestLabels {
            method: method.to_string(),
            route: route.to_owned(),
            status,
        },
        elapsed,
    );
    response
}

/// The response, or a problem once `limit` has passed. Dropping the handler
/// rolls back a transaction it has not committed.
async fn within(
    limit: Duration,
    response: impl std::future::Future<Output = Response>,
) -> Response {
    match tokio::time::timeout(limit, response).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_ms = limit.as_millis() as u64, "request timed out");
            problem::ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "The request took too long",
                format!(
                    "the request was not answered within {:.1} s and was abandoned; a change it was making is committed only if a later read shows it",
                    limit.as_secs_f64()
                ),
            )
            .with_retry_after(1)
            .into_response()
        }
    }
}

/// Hands the matched route template to `observe` (routing happens inside
/// it), and names the request's span for it when traces are exported.
async fn tag_route(
    State(traced): State<bool>,
    matched: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    if traced {
        trace_context::route(
            &tracing::Span::current(),
            request.method().as_str(),
            matched.as_str(),
        );
    }
    let mut response = next.run(request).await;
    response.extensions_mut().insert(matched);
    response
}

async fn route_not_found(request: Request) -> problem::ApiError {
    problem::ApiError::route_not_found(request.uri().path())
}

async fn method_not_allowed(request: Request) -> Response {
    let path = request.uri().path();
    let mut response = problem::ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!("{} is not allowed on '{path}'", request.method()),
    )
    .into_response();
    // The router would list the methods of `/v1/users/{userId}`; axum keeps
    // an Allow header that is already there.
    if routes::users::calls_find_by_connection(path) {
        response.headers_mut().insert(
            axum::http::header::ALLOW,
            axum::http::HeaderValue::from_static("GET,HEAD"),
        );
    }
    response
}
