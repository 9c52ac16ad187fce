use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::webhook::{CreatedWebhook, Webhook, WebhookBody, WebhookDelivery};
use nexus_service::{webhooks, Nexus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiResult};
use crate::actor::CurrentActor;
use crate::json::ApiJson;
use crate::list::{Envelope, ListOptions, ListOptionsDoc};
use crate::path::ApiPath;
use crate::problem::Problem;

pub fn router() -> OpenApiRouter<Nexus> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, delete_webhook))
        .routes(routes!(list_webhook_deliveries))
        .routes(routes!(redeliver_webhook_delivery))
}

/// Subscribes a URL to change events. Each event is POSTed to it as JSON
/// `{type, timestamp, data}` (`data`: the audit event, as
/// `GET /v1/audit-events` shows it), signed as Standard Webhooks specifies
/// (`webhook-id`, `webhook-timestamp`, `webhook-signature`), and retried
/// with backoff for a day until the receiver answers 2xx. The signing
/// secret is answered only now.
#[utoipa::path(post, path = "/v1/webhooks", tag = "Webhooks", request_body = WebhookBody,
    responses(
        (status = 201, body = CreatedWebhook),
        (status = 400, description = "An invalid field: a URL that is not https or whose host resolves to a non-public address (`errors.url`), an unknown event type (`errors.eventTypes`), a malformed secret, or no secret key configured to store it (`errors.secret`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_webhook(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiJson(body): ApiJson<WebhookBody>,
) -> ApiResult<Response> {
    let webhook = webhooks::create(&nexus, &actor, body).await?;
    Ok(created(
        format!("/v1/webhooks/{}", webhook.webhook.id),
        webhook,
    ))
}

/// Lists the webhook subscriptions (never their secrets).
#[utoipa::path(get, path = "/v1/webhooks", tag = "Webhooks", params(ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<Webhook>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_webhooks(
    State(nexus): State<Nexus>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<Webhook>>> {
    let params = options.params(&webhooks::LIST)?;
    let page = webhooks::list(&nexus, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Gets one subscription.
#[utoipa::path(get, path = "/v1/webhooks/{webhookId}", tag = "Webhooks",
    params(("webhookId" = String, Path)),
    responses(
        (status = 200, body = Webhook),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_webhook(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Webhook>> {
    Ok(Json(webhooks::get(&nexus, &id).await?))
}

/// Ends a subscription; its deliveries not yet made are dropped.
#[utoipa::path(delete, path = "/v1/webhooks/{webhookId}", tag = "Webhooks",
    params(("webhookId" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_webhook(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    webhooks::delete(&nexus, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists the subscription's deliveries, newest first unless `$orderby`
/// says otherwise: the event, its status (pending, succeeded, failed), the
/// attempts made, the last answer or error, and when the next attempt is due.
#[utoipa::path(get, path = "/v1/webhooks/{webhookId}/deliveries", tag = "Webhooks",
    params(("webhookId" = String, Path), ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<WebhookDelivery>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_webhook_deliveries(
    State(nexus): State<Nexus>,
    ApiPath(id): ApiPath<String>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<WebhookDelivery>>> {
    let options = options.with_default_order("id desc");
    let params = options.params(&webhooks::DELIVERIES)?;
    let page = webhooks::deliveries(&nexus, &id, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Sends a delivery again, whatever became of it: due now, its attempts
/// counted from zero, with a new day of retries. It carries the same
/// `webhook-id` as before.
#[utoipa::path(post, path = "/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", tag = "Webhooks",
    params(("webhookId" = String, Path), ("deliveryId" = i64, Path)),
    responses(
        (status = 202, description = "Queued for delivery", body = WebhookDelivery),
        (status = 404, description = "No such subscription, or no such delivery of it", body = Problem, content_type = "application/problem+json"),
    ))]
async fn redeliver_webhook_delivery(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((webhook_id, delivery_id)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<WebhookDelivery>)> {
    let delivery = webhooks::redeliver(&nexus, &actor, &webhook_id, &delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}
