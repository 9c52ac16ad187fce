//! Organizations' subscriptions to products (CreateSubscription,
//! PatchSubscription and their reads) and each subscription's log
//! (GetSubscriptionLog).

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use nexus_core::subscription::{
    CreateSubscriptionBody, PatchSubscriptionBody, Subscription, SubscriptionLog,
    SUBSCRIPTION_FIELDS,
};
use nexus_service::{subscriptions, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiResult};
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::list::{Envelope, ListOptions, ListOptionsDoc};
use crate::path::ApiPath;
use crate::problem::Problem;
use crate::shape::{ItemOptions, Shape, ShapeOptionsDoc, ShapeSpec, SubscriptionSelection};

/// `$select` of a Subscription's fields; `$expand=logs` fills `logs`.
pub static SUBSCRIPTION_SHAPE: ShapeSpec = ShapeSpec {
    fields: SUBSCRIPTION_FIELDS,
    expansions: &["logs"],
};

fn expand(shape: &Shape) -> subscriptions::Expand {
    subscriptions::Expand {
        logs: shape.expands("logs"),
    }
}

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(create_subscription, list_subscriptions))
        .routes(routes!(get_subscription, patch_subscription))
        .routes(routes!(list_subscription_logs))
        .routes(routes!(get_subscription_log))
}

/// Subscribes an organization to a product (CreateSubscription). Writes
/// the subscription's first log entry.
#[utoipa::path(post, path = "/v1/subscriptions", tag = "Subscriptions",
    request_body = CreateSubscriptionBody,
    responses(
        (status = 201, body = Subscription),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`organizationId` or `productId` names nothing (`errors` says which), or `customMetadata` is larger than 16 KiB", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_subscription(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<CreateSubscriptionBody>,
) -> ApiResult<Response> {
    let subscription = subscriptions::create(&nexus, &actor, body).await?;
    Ok(created(
        format!("/v1/subscriptions/{}", subscription.id),
        subscription,
    ))
}

/// Lists subscriptions; `$filter` takes `organizationId`, `productId`,
/// `status` and more, e.g. `organizationId eq 5 and status eq 'Active'`.
/// `logs` is filled with `$expand=logs`.
#[utoipa::path(get, path = "/v1/subscriptions", tag = "Subscriptions", params(ListOptionsDoc, ShapeOptionsDoc),
    responses(
        (status = 200, body = Envelope<SubscriptionSelection>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_subscriptions(
    State(nexus): State<Nexus>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<SubscriptionSelection>>> {
    let (params, shape) = options.shaped_params(&subscriptions::LIST, &SUBSCRIPTION_SHAPE)?;
    let page = subscriptions::list(&nexus, &params, expand(&shape)).await?;
    Ok(Json(options.shaped_envelope(
        &params,
        page,
        &shape,
        "subscriptions",
    )))
}

/// Gets a subscription; `logs` is filled with `$expand=logs`.
#[utoipa::path(get, path = "/v1/subscriptions/{subscriptionId}", tag = "Subscriptions",
    params(("subscriptionId" = i32, Path), ShapeOptionsDoc),
    responses(
        (status = 200, body = SubscriptionSelection),
        (status = 400, description = "An unknown field in `$select` or `$expand`, or another query option", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_subscription(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
    options: ItemOptions,
) -> ApiResult<Json<SubscriptionSelection>> {
    let shape = options.shape(&SUBSCRIPTION_SHAPE)?;
    let subscription = subscriptions::get(&nexus, &id, expand(&shape)).await?;
    Ok(Json(shape.apply(&subscription)))
}

/// Changes a subscription (PatchSubscription): absent fields are left as
/// they are, `null` clears a field (`status` and `customMetadata` cannot be
/// null), `customMetadata` replaces the whole object. A change writes one
/// log entry saying what changed; a request that changes nothing writes
/// nothing.
#[utoipa::path(patch, path = "/v1/subscriptions/{subscriptionId}", tag = "Subscriptions",
    params(("subscriptionId" = i32, Path)), request_body = PatchSubscriptionBody,
    responses(
        (status = 200, body = Subscription),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`customMetadata` is larger than 16 KiB", body = Problem, content_type = "application/problem+json"),
    ))]
async fn patch_subscription(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PatchSubscriptionBody>,
) -> ApiResult<Json<Subscription>> {
    Ok(Json(subscriptions::patch(&nexus, &actor, &id, body).await?))
}

/// Lists the subscription's log, newest first unless `$orderby` says
/// otherwise.
#[utoipa::path(get, path = "/v1/subscriptions/{subscriptionId}/logs", tag = "Subscriptions",
    params(("subscriptionId" = i32, Path), ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<SubscriptionLog>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_subscription_logs(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<SubscriptionLog>>> {
    let options = options.with_default_order("id desc");
    let params = options.params(&subscriptions::LOG_LIST)?;
    let page = subscriptions::list_logs(&nexus, &id, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Gets one entry of the subscription's log, with the subscription
/// (GetSubscriptionLog).
#[utoipa::path(get, path = "/v1/subscriptions/{subscriptionId}/logs/{logId}", tag = "Subscriptions",
    params(("subscriptionId" = i32, Path), ("logId" = i32, Path)),
    responses(
        (status = 200, body = SubscriptionLog),
        (status = 404, description = "No such subscription, or no such entry of its log", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_subscription_log(
    State(nexus): State<Nexus>,
    ApiPath((id, log_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<SubscriptionLog>> {
    Ok(Json(subscriptions::get_log(&nexus, &id, &log_id).await?))
}
