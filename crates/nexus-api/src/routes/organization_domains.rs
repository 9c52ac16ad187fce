use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use nexus_core::organization_domain::{CreateOrganizationDomainBody, OrganizationDomain};
use nexus_service::{organization_domains, Nexus};
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
        .routes(routes!(
            create_organization_domain,
            list_organization_domains
        ))
        .routes(routes!(get_organization_domain, delete_organization_domain))
        .routes(routes!(generate_organization_domain_verification_code))
        .routes(routes!(verify_organization_domain))
}

fn location(domain: &OrganizationDomain) -> String {
    format!(
        "/v1/organizations/{}/domains/{}",
        domain.organization_id, domain.domain_id
    )
}

/// Adds a domain to the organization (CreateOrganizationDomain), not yet
/// verified. A domain that another organization has verified cannot be
/// added.
#[utoipa::path(post, path = "/v1/organizations/{organizationId}/domains", tag = "Organizations",
    params(("organizationId" = i32, Path)), request_body = CreateOrganizationDomainBody,
    responses(
        (status = 201, body = OrganizationDomain),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organization already has the domain, or another organization has verified it", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_organization_domain(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath(organization): ApiPath<String>,
    ApiJson(body): ApiJson<CreateOrganizationDomainBody>,
) -> ApiResult<Response> {
    let domain = organization_domains::create(&nexus, &actor, &organization, body).await?;
    Ok(created(location(&domain), domain))
}

/// Lists the organization's domains.
#[utoipa::path(get, path = "/v1/organizations/{organizationId}/domains", tag = "Organizations",
    params(("organizationId" = i32, Path), ListOptionsDoc),
    responses(
        (status = 200, body = Envelope<OrganizationDomain>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_organization_domains(
    State(nexus): State<Nexus>,
    ApiPath(organization): ApiPath<String>,
    options: ListOptions,
) -> ApiResult<Json<Envelope<OrganizationDomain>>> {
    let params = options.params(&organization_domains::LIST)?;
    let page = organization_domains::list(&nexus, &organization, &params).await?;
    Ok(Json(options.envelope(&params, page)))
}

/// Gets one of the organization's domains.
#[utoipa::path(get, path = "/v1/organizations/{organizationId}/domains/{domainId}", tag = "Organizations",
    params(("organizationId" = i32, Path), ("domainId" = i32, Path)),
    responses(
        (status = 200, body = OrganizationDomain),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_organization_domain(
    State(nexus): State<Nexus>,
    ApiPath((organization, domain_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<OrganizationDomain>> {
    Ok(Json(
        organization_domains::get(&nexus, &organization, &domain_id).await?,
    ))
}

/// Removes the domain from the organization; a verified domain can then be
/// claimed by another organization.
#[utoipa::path(delete, path = "/v1/organizations/{organizationId}/domains/{domainId}", tag = "Organizations",
    params(("organizationId" = i32, Path), ("domainId" = i32, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_organization_domain(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((organization, domain_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    organization_domains::delete(&nexus, &actor, &organization, &domain_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Generates a new verification code for the domain
/// (GenerateOrganizationDomainVerificationCode); the code before it stops
/// working. To verify the domain, publish a DNS TXT record at
/// `_nexus-verification.<domain>` holding exactly
/// `nexus-verification=<verificationCode>` before `verificationCodeExpires`,
/// then call `…/verify`.
#[utoipa::path(post, path = "/v1/organizations/{organizationId}/domains/{domainId}/generate-code", tag = "Organizations",
    params(("organizationId" = i32, Path), ("domainId" = i32, Path)),
    responses(
        (status = 201, body = OrganizationDomain),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn generate_organization_domain_verification_code(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((organization, domain_id)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let domain =
        organization_domains::generate_code(&nexus, &actor, &organization, &domain_id).await?;
    Ok(created(location(&domain), domain))
}

/// Verifies the domain (VerifyOrganizationDomain): Nexus looks up the DNS
/// TXT records at `_nexus-verification.<domain>`; when one holds exactly
/// `nexus-verification=<verificationCode>` with the domain's current,
/// unexpired code, the domain becomes verified (`isVerified`) and no other
/// organization can claim it. A domain already verified is answered as it
/// is. Refusals change nothing and are 409: no code generated yet, the code
/// expired (generate a new one), no matching TXT record (the detail names
/// the record and the value expected), or another organization verified the
/// domain first. 503 when the DNS lookup fails (no answer from the
/// nameserver): try again later.
#[utoipa::path(post, path = "/v1/organizations/{organizationId}/domains/{domainId}/verify", tag = "Organizations",
    params(("organizationId" = i32, Path), ("domainId" = i32, Path)),
    responses(
        (status = 200, body = OrganizationDomain),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No code generated, the code expired, no TXT record holds the expected value, or another organization verified the domain", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The DNS lookup failed; nothing was changed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify_organization_domain(
    State(nexus): State<Nexus>,
    CurrentActor(actor): CurrentActor,
    ApiPath((organization, domain_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<OrganizationDomain>> {
    Ok(Json(
        organization_domains::verify(&nexus, &actor, &organization, &domain_id).await?,
    ))
}
