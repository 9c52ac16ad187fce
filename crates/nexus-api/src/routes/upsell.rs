//! Upsell: a product's modules and their dependency rules
//! (PutUpsellDependencies), the catalog of an organization's live
//! subscriptions (GetUpsellCatalog), and upsell requests
//! (CreateUpsellRequest, GetUpsellRequest, PatchUpsellRequest).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use nexus_core::upsell::{
    CreateUpsellRequestBody, PatchUpsellRequestBody, PutUpsellDependenciesBody, UpsellCatalogItem,
    UpsellModule, UpsellRequest, UPSELL_REQUEST_FIELDS,
};
use nexus_service::{upsell, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiResult};
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::list::{Envelope, ListOptions, ListOptionsDoc};
use crate::path::ApiPath;
use crate::problem::Problem;
use crate::shape::{ItemOptions, SelectOptionDoc, ShapeSpec, UpsellRequestSelection};

/// `$select` of an UpsellRequest's fields.
pub static UPSELL_REQUEST_SHAPE: ShapeSpec = ShapeSpec {
    fields: UPSELL_REQUEST_FIELDS,
    expansions: &[],
};

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(put_upsell_dependencies, list_upsell_dependencies))
        .routes(routes!(get_upsell_dependency, delete_upsell_dependency))
        .routes(routes!(get_upsell_catalog))
        .routes(routes!(create_upsell_request, list_upsell_requests))
        .routes(routes!(get_upsell_request, patch_upsell_request))
}

/// Declares a module of the product with its dependency rules, or replaces
/// a declared module's rules and data whole (PutUpsellDependencies). A rule
/// `Requires` another module: the subscription must hold it or it must be
/// requested with this one; or `Excludes` it: it must be neither. A PUT
/// that changes nothing writes nothing.
#[utoipa::path(put, path = "/v1/products/{productId}/upsell-dependencies", tag = "Upsell",
    params(("productId" = i32, Path)), request_body = PutUpsellDependenciesBody,
    responses(
        (status = 200, description = "The module's rules and data were replaced (or were already these)", body = UpsellModule),
        (status = 201, description = "The module was declared", body = UpsellModule),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A rule names a module the product does not declare, the module itself, or a module another rule names (`errors` says which, e.g. `requires[1].moduleString`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_upsell_dependencies(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(product_id): ApiPath<String>,
    ApiJson(body): ApiJson<PutUpsellDependenciesBody>,
) -> ApiResult<Response> {
    let (module, is_new) = upsell::put_module(&nexus, &actor, &product_id, body).await?;
    if is_new {
        let location = format!(
            "/v1/products/{}/upsell-dependencies/{}",
            module.product_id, module.module_string
        );
        return Ok(created(location, module));
    }
    Ok((StatusCode::OK, Json(module)).into_response())
}

/// Lists the product's modules with their rules, by `moduleString`.
#[utoipa::path(get, path = "/v1/products/{productId}/upsell-dependencies", tag = "Upsell",
    params(("productId" = i32, Path)),
    responses(
        (status = 200, body = Vec<UpsellModule>),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_upsell_dependencies(
    State(nexus): State<Nexus>,
    ApiPath(product_id): ApiPath<String>,
) -> ApiResult<Json<Vec<UpsellModule>>> {
    Ok(Json(upsell::modules(&nexus, &product_id).await?))
}

/// Gets one module of the product with its rules.
#[utoipa::path(get, path = "/v1/products/{productId}/upsell-dependencies/{moduleString}", tag = "Upsell",
    params(("productId" = i32, Path), ("moduleString" = String, Path)),
    responses(
        (status = 200, body = UpsellModule),
        (status = 404, description = "No such product, or it declares no such module", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_upsell_dependency(
    State(nexus): State<Nexus>,
    ApiPath((product_id, module_string)): ApiPath<(String, String)>,
) -> ApiResult<Json<UpsellModule>> {
    Ok(Json(
        upsell::module(&nexus, &product_id, &module_string).await?,
    ))
}

/// Removes a module of the product with its rules.
#[utoipa::path(delete, path = "/v1/products/{productId}/upsell-dependencies/{moduleString}", tag = "Upsell",
    params(("productId" = i32, Path), ("moduleString" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such product, or it declares no such module", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Rules of other modules name it; the detail says which", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_upsell_dependency(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((product_id, module_string)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    upsell::delete_module(&nexus, &actor, &product_id, &module_string).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists what the organization could add to its live subscriptions
/// (enabled, `Active` and unexpired): for each, by id, each module its
/// product declares, by `moduleString`, with the quantity the subscription
/// holds. `sfAccountId` is always null (Nexus keeps no CRM account).
#[utoipa::path(get, path = "/v1/subscriptions/upsell-catalog/{organizationId}", tag = "Upsell",
    params(("organizationId" = i32, Path)),
    responses(
        (status = 200, body = Vec<UpsellCatalogItem>),
        (status = 404, description = "No such organization", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_upsell_catalog(
    State(nexus): State<Nexus>,
    ApiPath(organization_id): ApiPath<String>,
) -> ApiResult<Json<Vec<UpsellCatalogItem>>> {
    Ok(Json(upsell::catalog(&nexus, &organization_id).await?))
}

/// Requests more of some modules of a subscription (CreateUpsellRequest):
/// the request is `Pending`, its items completed with the server's ids and
/// the quantities held now; its creation is written to the subscription's
/// log.
#[utoipa::path(post, path = "/v1/upsell-requests", tag = "Upsell",
    request_body = CreateUpsellRequestBody,
    responses(
        (status = 201, body = UpsellRequest),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The subscription is not live; an item's `currentQuantity` is stale (the detail gives the current one); or a dependency rule is broken (the detail names the module and the rule)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`subscriptionId` names nothing, `organizationId` is not the subscription's, or an item names a module the subscription's product does not declare, one another item names, or ids that are not the server's (`errors` says which)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_upsell_request(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<CreateUpsellRequestBody>,
) -> ApiResult<Response> {
    let request = upsell::create_request(&nexus, &actor, body).await?;
    Ok(created(
        format!("/v1/upsell-requests/{}", request.id),
        request,
    ))
}

/// Lists upsell requests; `$filter` takes `organizationId`,
/// `subscriptionId` and `status`, e.g. `subscriptionId eq 5 and status eq
/// 'Pending'`.
#[utoipa::path(get, path = "/v1/upsell-requests", tag = "Upsell", params(ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<UpsellRequest>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_upsell_requests(
    State(nexus): State<Nexus>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<UpsellRequest>>> {
    let options = options.with_default_order("id");
    let params = options.params(&upsell::LIST)?;
    let page = upsell::list_requests(&nexus, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Gets an upsell request.
#[utoipa::path(get, path = "/v1/upsell-requests/{upsellRequestId}", tag = "Upsell",
    params(("upsellRequestId" = i32, Path), SelectOptionDoc),
    responses(
        (status = 200, body = UpsellRequestSelection),
        (status = 400, description = "An unknown field in `$select`, or another query option", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_upsell_request(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
    options: ItemOptions,
) -> ApiResult<Json<UpsellRequestSelection>> {
    let shape = options.shape(&UPSELL_REQUEST_SHAPE)?;
    let request = upsell::get_request(&nexus, &id).await?;
    Ok(Json(shape.apply(&request)))
}

/// Changes an upsell request (PatchUpsellRequest): absent fields are left
/// as they are; `null` leaves `status` and clears the others. `status`
/// moves `Pending` → `Submitted` → `Completed` or `Rejected` (`Pending` may
/// go straight to either); completing adds each item's
/// `requestedAdditionalQuantity` to what the subscription holds. A change
/// of status is written to the subscription's log; a request that changes
/// nothing writes nothing.
#[utoipa::path(patch, path = "/v1/upsell-requests/{upsellRequestId}", tag = "Upsell",
    params(("upsellRequestId" = i32, Path)), request_body = PatchUpsellRequestBody,
    responses(
        (status = 200, body = UpsellRequest),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request is `Completed` or `Rejected` (final), or the status cannot go back", body = Problem, content_type = "application/problem+json"),
    ))]
async fn patch_upsell_request(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PatchUpsellRequestBody>,
) -> ApiResult<Json<UpsellRequest>> {
    Ok(Json(
        upsell::patch_request(&nexus, &actor, &id, body).await?,
    ))
}
