//! Products: what organizations subscribe to, made of applications.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::product::{CreateProductBody, PatchProductBody, Product, PRODUCT_FIELDS};
use nexus_service::{products, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiResult};
use crate::actor::{CurrentActor, CurrentAuthority};
use crate::json::ApiJson;
use crate::list::{Envelope, ListOptions, ListOptionsDoc};
use crate::path::ApiPath;
use crate::problem::Problem;
use crate::shape::{ItemOptions, ProductSelection, Shape, ShapeOptionsDoc, ShapeSpec};

/// `$select` of a Product's fields; `$expand=subscriptions` fills
/// `subscriptions`.
pub static PRODUCT_SHAPE: ShapeSpec = ShapeSpec {
    fields: PRODUCT_FIELDS,
    expansions: &["subscriptions"],
};

fn expand(shape: &Shape) -> products::Expand {
    products::Expand {
        subscriptions: shape.expands("subscriptions"),
    }
}

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(create_product, list_products))
        .routes(routes!(get_product, update_product, delete_product))
}

/// Creates a product (CreateProduct). With `developersRoleAudience`, also
/// creates its developer role `{name}-developers` for that audience: both
/// or neither.
#[utoipa::path(post, path = "/v1/products", tag = "Products", request_body = CreateProductBody,
    responses(
        (status = 201, body = Product),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`developersRoleAudience` is given and the caller lacks `role.write`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A product of this name exists, or the developer role does; nothing was created", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`organizationId` names no organization", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_product(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    CurrentAuthority(authority): CurrentAuthority,
    ApiJson(body): ApiJson<CreateProductBody>,
) -> ApiResult<Response> {
    let product = products::create(&nexus, &actor, &authority, body).await?;
    Ok(created(format!("/v1/products/{}", product.id), product))
}

/// Lists products with their applications; `subscriptions` is filled with
/// `$expand=subscriptions`.
#[utoipa::path(get, path = "/v1/products", tag = "Products", params(ListOptionsDoc, ShapeOptionsDoc),
    responses(
        (status = 200, body = Envelope<ProductSelection>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_products(
    State(nexus): State<Nexus>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<ProductSelection>>> {
    let (params, shape) = options.shaped_params(&products::LIST, &PRODUCT_SHAPE)?;
    let page = products::list(&nexus, &params, expand(&shape)).await?;
    Ok(Json(
        options.shaped_envelope(&params, page, &shape, "products"),
    ))
}

/// Gets a product with its applications; `subscriptions` is filled with
/// `$expand=subscriptions`.
#[utoipa::path(get, path = "/v1/products/{productId}", tag = "Products",
    params(("productId" = i32, Path), ShapeOptionsDoc),
    responses(
        (status = 200, body = ProductSelection),
        (status = 400, description = "An unknown field in `$select` or `$expand`, or another query option", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_product(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
    options: ItemOptions,
) -> ApiResult<Json<ProductSelection>> {
    let shape = options.shape(&PRODUCT_SHAPE)?;
    let product = products::get(&nexus, &id, expand(&shape)).await?;
    Ok(Json(shape.apply(&product)))
}

/// Changes a product (PatchProduct): absent fields are left as they are;
/// `null` clears `url`, `longDescription` and `organizationId`; `metadata`
/// and `publicMetadata` are replaced whole. Renaming a product leaves its
/// developer role's name as it is.
#[utoipa::path(patch, path = "/v1/products/{productId}", tag = "Products",
    params(("productId" = i32, Path)), request_body = PatchProductBody,
    responses(
        (status = 200, body = Product),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another product has the new name", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`organizationId` names no organization", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_product(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PatchProductBody>,
) -> ApiResult<Json<Product>> {
    Ok(Json(products::update(&nexus, &actor, &id, body).await?))
}

/// Deletes a product that has no applications and no subscriptions
/// (DeleteProduct). Its developer role stays.
#[utoipa::path(delete, path = "/v1/products/{productId}", tag = "Products",
    params(("productId" = i32, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It has applications or subscriptions; the detail says which", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_product(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    products::delete(&nexus, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
