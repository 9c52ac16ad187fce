//! Application deployments (an application made available to an
//! organization under one of its subscriptions) and the users assigned to
//! them (CreateApplicationDeploymentUsers).

use nexus_core::application_deployment::{
    AddDeploymentUserBody, ApplicationDeployment, CreateDeploymentBody, DeploymentUser,
    NewAssignment, PatchDeploymentBody,
};
use nexus_core::audit::resource_type;
use nexus_core::{Actor, ValidationErrors};
use nexus_store::{
    application_deployments as deployments, applications, commit, memberships, subscriptions,
    users, Conn, ListParams, Page,
};

use crate::{audit, members, numeric_id, Nexus, Result, ServiceError};

pub use nexus_store::application_deployments::{LIST, USER_LIST};

const DEPLOYMENT: &str = "application deployment";
const ASSIGNMENT: &str = "application deployment user";

fn inapplicable(field: &str, message: String) -> ServiceError {
    ServiceError::Inapplicable(ValidationErrors::single(field, message))
}

/// The deployment, locked until the transaction ends; 404 without one.
async fn lock(conn: &mut Conn, id: &str) -> Result<ApplicationDeployment> {
    let numeric = numeric_id(DEPLOYMENT, id)?;
    deployments::get_for_update(conn, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(DEPLOYMENT, id))
}

#[tracing::instrument(skip(nexus, actor, body))]
pub async fn create(
    nexus: &Nexus,
    actor: &Actor,
    body: CreateDeploymentBody,
) -> Result<ApplicationDeployment> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    // Locked so that neither goes away before the deployment refers to it.
    let application = applications::get_for_update(&mut tx, new.application_id)
        .await?
        .ok_or_else(|| {
            inapplicable(
                "applicationId",
                format!("no application has the id {}", new.application_id),
            )
        })?;
    let subscription = subscriptions::get_for_update(&mut tx, new.subscription_id)
        .await?
        .ok_or_else(|| {
            inapplicable(
                "subscriptionId",
                format!("no subscription has the id {}", new.subscription_id),
            )
        })?;
    if subscription.product_id != application.product_id {
        return Err(inapplicable(
            "subscriptionId",
            format!(
                "subscription {} is to product {}, and application {} is part of product {}",
                subscription.id, subscription.product_id, application.id, application.product_id
            ),
        ));
    }
    let deployment = deployments::insert(&mut tx, &new, actor).await?;
    record(&mut tx, actor, None, Some(&deployment)).await?;
    commit(tx).await?;
    Ok(deployment)
}

async fn record(
    conn: &mut Conn,
    actor: &Actor,
    before: Option<&ApplicationDeployment>,
    after: Option<&ApplicationDeployment>,
) -> Result<()> {
    let id = before
        .or(after)
        .map(|d| d.id.to_string())
        .unwrap_or_default();
    audit::record(
        conn,
        actor,
        resource_type::APPLICATION_DEPLOYMENT,
        &id,
        before,
        after,
    )
    .await
}

#[tracing::instrument(skip(nexus))]
pub async fn get(nexus: &Nexus, id: &str) -> Result<ApplicationDeployment> {
    let numeric = numeric_id(DEPLOYMENT, id)?;
    let mut conn = nexus.store().read_one().await?;
    deployments::get(&mut conn, numeric)
        .await?
        .ok_or_else(|| ServiceError::not_found(DEPLOYMENT, id))
}

#[tracing::instrument(skip(nexus, params))]
pub async fn list(nexus: &Nexus, params: &ListParams) -> Result<Page<ApplicationDeployment>> {
    let mut conn = nexus.store().read_one().await?;
    Ok(deployments::list(&mut conn, params).await?)
}

/// A patch that changes nothing writes nothing. `maxUserCount` cannot go
/// below the number of users assigned.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn patch(
    nexus: &Nexus,
    actor: &Actor,
    id: &str,
    body: PatchDeploymentBody,
) -> Result<ApplicationDeployment> {
    let mut tx = nexus.store().begin().await?;
    let before = lock(&mut tx, id).await?;
    let fields = body.apply(&before.fields())?;
    if fields == before.fields() {
        return Ok(before);
    }
    if let Some(max) = fields.max_user_count.filter(|max| *max < before.user_count) {
        return Err(ServiceError::Conflict(format!(
            "application deployment {} has {} users assigned: maxUserCount cannot be {max}; \
             remove users first",
            before.id, before.user_count
        )));
    }
    deployments::update(&mut tx, before.id, &fields, actor).await?;
    let after = deployments::get(&mut tx, before.id)
        .await?
        .ok_or_else(|| ServiceError::not_found(DEPLOYMENT, id))?;
    record(&mut tx, actor, Some(&before), Some(&after)).await?;
    commit(tx).await?;
    Ok(after)
}

/// Deletes the deployment with its users' assignments.
#[tracing::instrument(skip(nexus, actor))]
pub async fn delete(nexus: &Nexus, actor: &Actor, id: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let before = lock(&mut tx, id).await?;
    deployments::delete(&mut tx, before.id).await?;
    record(&mut tx, actor, Some(&before), None).await?;
    commit(tx).await?;
    Ok(())
}

/// Whether `assign` made a new assignment or changed an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assigned {
    New,
    Changed,
}

/// CreateApplicationDeploymentUsers. The user must be a member of the
/// organization that holds the deployment's subscription (or is made one
/// with `addToOrganization`); a new assignment needs room under
/// `maxUserCount`. Assigning a user already assigned replaces the terms.
#[tracing::instrument(skip(nexus, actor, body))]
pub async fn assign(
    nexus: &Nexus,
    actor: &Actor,
    id: &str,
    body: AddDeploymentUserBody,
) -> Result<(DeploymentUser, Assigned)> {
    let new = body.into_new()?;
    let mut tx = nexus.store().begin().await?;
    // The lock on the deployment serializes assignments: the count of users
    // read below stays true until the commit.
    let deployment = lock(&mut tx, id).await?;
    if !users::exists(&mut tx, &new.user_id).await? {
        return Err(inapplicable(
            "userId",
            format!("no user has the id '{}'", new.user_id),
        ));
    }
    let organization_id = deployment.organization_id;
    if !memberships::lock(&mut tx, organization_id, &new.user_id).await? {
        if !new.add_to_organization {
            return Err(ServiceError::Conflict(format!(
                "user '{}' is not a member of organization {organization_id}, which holds the \
                 deployment's subscription (set addToOrganization to make it one)",
                new.user_id
            )));
        }
        members::insert_plain(&mut tx, actor, organization_id, &new.user_id).await?;
    }
    let before = deployments::get_user(&mut tx, deployment.id, &new.user_id).await?;
    if before.is_none() {
        require_room(&deployment)?;
    }
    let after = deployments::put_user(&mut tx, deployment.id, &new, actor).await?;
    let assigned = if before.is_some() {
        Assigned::Changed
    } else {
        Assigned::New
    };
    record_assignment(&mut tx, actor, before.as_ref(), Some(&after)).await?;
    commit(tx).await?;
    Ok((after, assigned))
}

fn require_room(deployment: &ApplicationDeployment) -> Result<()> {
    if deployment.has_room() {
        return Ok(());
    }
    Err(ServiceError::Conflict(format!(
        "application deployment {} is full: {} of {} users assigned",
        deployment.id,
        deployment.user_count,
        deployment.max_user_count.unwrap_or_default()
    )))
}

/// Assigns a new member of the deployment's organization (CreateUser's
/// `applications`), with no expiry and no metadata, in the caller's
/// transaction: 409 when the deployment is full.
pub(crate) async fn assign_new_member(
    conn: &mut Conn,
    actor: &Actor,
    deployment_id: i32,
    user_id: &str,
) -> Result<()> {
    let deployment = lock(conn, &deployment_id.to_string()).await?;
    require_room(&deployment)?;
    let new = NewAssignment {
        user_id: user_id.to_owned(),
        add_to_organization: false,
        expires: None,
        is_active: true,
        metadata: serde_json::Map::new(),
    };
    let after = deployments::put_user(conn, deployment.id, &new, actor).await?;
    record_assignment(conn, actor, None, Some(&after)).await
}

async fn record_assignment(
    conn: &mut Conn,
    actor: &Actor,
    before: Option<&DeploymentUser>,
    after: Option<&DeploymentUser>,
) -> Result<()> {
    let id = before
        .or(after)
        .map(|a| format!("{}/{}", a.application_deployment_id, a.user_id))
        .unwrap_or_default();
    audit::record(
        conn,
        actor,
        resource_type::APPLICATION_DEPLOYMENT_USER,
        &id,
        before,
        after,
    )
    .await
}

#[tracing::instrument(skip(nexus, params))]
pub async fn users(nexus: &Nexus, id: &str, params: &ListParams) -> Result<Page<DeploymentUser>> {
    let numeric = numeric_id(DEPLOYMENT, id)?;
    let mut tx = nexus.store().begin_read().await?;
    if deployments::get(&mut tx, numeric).await?.is_none() {
        return Err(ServiceError::not_found(DEPLOYMENT, id));
    }
    Ok(deployments::users(&mut tx, numeric, params).await?)
}

#[tracing::instrument(skip(nexus, actor))]
pub async fn unassign(nexus: &Nexus, actor: &Actor, id: &str, user_id: &str) -> Result<()> {
    let mut tx = nexus.store().begin().await?;
    let deployment = lock(&mut tx, id).await?;
    let removed = deployments::remove_user(&mut tx, deployment.id, user_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(ASSIGNMENT, user_id))?;
    record_assignment(&mut tx, actor, Some(&removed), None).await?;
    commit(tx).await?;
    Ok(())
}
