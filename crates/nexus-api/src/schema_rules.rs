//! The value rules of request bodies and parameters that the annotations
//! cannot state: patterns of the core's parsers (`nexus_core::patterns`),
//! the text rule, and which fields go together.

use std::borrow::Cow;

use nexus_core::organization::MEMBERSHIP_ROLES;
use nexus_core::patterns;
use nexus_core::role::GROUP_NAME;
use nexus_core::user::APPLICATION_REF;
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, ArrayItems, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{OpenApi, RefOr};

pub(crate) fn document(api: &mut OpenApi) {
    document_value_patterns(api);
    document_find_by_connection_values(api);
    document_membership_roles_query(api);
    document_text_rule(api);
    document_field_ties(api);
    document_unique_items(api);
}

/// Lists whose items must differ (`uniqueItems`): the checks refuse a
/// repeated item.
fn document_unique_items(api: &mut OpenApi) {
    let Some(components) = api.components.as_mut() else {
        return;
    };
    for (schema, property) in [
        ("CreateApplicationBody", "clients"),
        ("PatchApplicationBody", "clients"),
    ] {
        let target = components
            .schemas
            .get_mut(schema)
            .and_then(|found| property_of(found, property))
            .unwrap_or_else(|| panic!("{schema}.{property} is not in the document"));
        match target {
            RefOr::T(Schema::Array(array)) => array.unique_items = true,
            _ => panic!("{schema}.{property} is not an array"),
        }
    }
}

/// A property's own rule: a pattern and, where the parser bounds the
/// length apart from the field, that bound. On an array, for its items.
struct Rule {
    pattern: Cow<'static, str>,
    min_length: Option<usize>,
    max_length: Option<usize>,
}

const fn rule(pattern: &'static str) -> Rule {
    Rule {
        pattern: Cow::Borrowed(pattern),
        min_length: None,
        max_length: None,
    }
}

const fn bounded(pattern: &'static str, min: usize, max: usize) -> Rule {
    Rule {
        pattern: Cow::Borrowed(pattern),
        min_length: Some(min),
        max_length: Some(max),
    }
}

fn rule_owned(pattern: String) -> Rule {
    Rule {
        pattern: Cow::Owned(pattern),
        min_length: None,
        max_length: None,
    }
}

/// (schemas, property, rule): a create body and its update body share one.
const VALUE_RULES: &[(&[&str], &str, Rule)] = &[
    (USER_BODIES, "phoneNumber", rule(patterns::PHONE_NUMBER)),
    (PROFILE_BODIES, "picture", rule(patterns::HTTP_URL)),
    (
        UPN_BODIES,
        "customUpnValue",
        rule(patterns::CUSTOM_UPN_VALUE),
    ),
    (TENANT_BODIES, "name", rule(patterns::NOT_ONLY_DIGITS)),
    (TENANT_BODIES, "fqdn", bounded(patterns::DNS_NAME, 1, 253)),
    (
        TENANT_BODIES,
        "loginDomain",
        bounded(patterns::DNS_NAME, 1, 253),
    ),
    (
        TENANT_BODIES,
        "managementAudience",
        bounded(patterns::HTTP_URL, 1, 250),
    ),
    (
        TENANT_BODIES,
        "baseUrl",
        bounded(patterns::BASE_URL, 1, 250),
    ),
    (
        &["CreateOrganizationBody"],
        "name",
        rule(patterns::NOT_ONLY_DIGITS),
    ),
    (
        &["CreateOrganizationDomainBody"],
        "domain",
        bounded(patterns::ORGANIZATION_DOMAIN, 1, 253),
    ),
    (
        ROLE_BODIES,
        "permissions",
        bounded(patterns::PERMISSION_CODE, 1, 100),
    ),
    (ROLE_BODIES, "audience", rule(patterns::NO_WHITESPACE)),
    (
        &["UserRolesBody"],
        "value",
        bounded(patterns::NO_CONTROL_CHARACTERS, 1, 40),
    ),
    (
        &["CreateUserBody"],
        "roles",
        bounded(patterns::NO_CONTROL_CHARACTERS, 1, 40),
    ),
    (
        &["CreateUserBody"],
        "applications",
        bounded(
            patterns::NO_CONTROL_CHARACTERS,
            APPLICATION_REF.min,
            APPLICATION_REF.max,
        ),
    ),
    (
        &["StsClientBody"],
        "clientId",
        rule(patterns::NO_WHITESPACE),
    ),
    (&["WebhookBody"], "url", rule(patterns::WEBHOOK_URL)),
    (PRODUCT_BODIES, "name", rule(patterns::PRODUCT_NAME)),
    (PRODUCT_BODIES, "url", rule(patterns::HTTP_URL)),
    (
        &["CreateProductBody"],
        "developersRoleAudience",
        rule(patterns::NO_WHITESPACE),
    ),
    (
        &["ApplicationClient"],
        "clientId",
        rule(patterns::AZO_CLIENT_ID),
    ),
    (
        &[
            "PutUpsellDependenciesBody",
            "UpsellRuleBody",
            "UpsellRequestItemBody",
        ],
        "moduleString",
        rule(patterns::MODULE_STRING),
    ),
    (
        &["SyncConnection"],
        "groups",
        bounded(
            patterns::NO_CONTROL_CHARACTERS,
            GROUP_NAME.min,
            GROUP_NAME.max,
        ),
    ),
];

const USER_BODIES: &[&str] = &["CreateUserBody", "PatchUserBody"];
const PROFILE_BODIES: &[&str] = &["CreateUserBody", "PatchUserBody", "UpdateMeProfileBody"];
const UPN_BODIES: &[&str] = &["NewCustomUpnBody", "CustomUpnBody"];
const TENANT_BODIES: &[&str] = &["NewIdpTenantBody", "IdpTenantBody"];
const ROLE_BODIES: &[&str] = &["NewRoleBody", "RoleBody"];
const PRODUCT_BODIES: &[&str] = &["CreateProductBody", "PatchProductBody"];

fn document_value_patterns(api: &mut OpenApi) {
    let Some(components) = api.components.as_mut() else {
        return;
    };
    // Permissions that no route uses are refused (`check_known_permissions`).
    let known: Vec<&str> = crate::auth::known_permissions().into_iter().collect();
    let permissions = [
        (
            &["ApiKeyBody"][..],
            "permissions",
            rule_owned(patterns::space_separated(
                &known,
                patterns::Words::AnyNumber,
            )),
        ),
        (
            &["StsClientBody"][..],
            "permissions",
            rule_owned(patterns::space_separated(
                &known,
                patterns::Words::AtLeastOne,
            )),
        ),
    ];
    for (schemas, property, rule) in VALUE_RULES.iter().chain(&permissions) {
        for schema in *schemas {
            let target = components
                .schemas
                .get_mut(*schema)
                .and_then(|found| property_of(found, property))
                .unwrap_or_else(|| panic!("{schema}.{property} is not in the document"));
            apply(target, rule);
        }
    }
}

fn property_of<'a>(schema: &'a mut RefOr<Schema>, name: &str) -> Option<&'a mut RefOr<Schema>> {
    match schema {
        RefOr::T(Schema::Object(object)) => object.properties.get_mut(name),
        _ => None,
    }
}

fn apply(schema: &mut RefOr<Schema>, rule: &Rule) {
    match schema {
        RefOr::T(Schema::Object(object)) => {
            object.pattern = Some(rule.pattern.to_string());
            object.min_length = rule.min_length.or(object.min_length);
            object.max_length = rule.max_length.or(object.max_length);
        }
        RefOr::T(Schema::Array(array)) => match &mut array.items {
            ArrayItems::RefOrSchema(items) => apply(items, rule),
            ArrayItems::False => panic!("an array without items has no values to rule"),
        },
        _ => panic!("a rule is set on a text or array property only"),
    }
}

/// FindUserByConnection's values go inside OData string literals.
fn document_find_by_connection_values(api: &mut OpenApi) {
    let operation = api
        .paths
        .paths
        .iter_mut()
        .find(|(path, _)| path.starts_with("/v1/users/FindUserByConnection("))
        .and_then(|(_, item)| item.get.as_mut())
        .expect("FindUserByConnection is documented");
    for parameter in operation.parameters.iter_mut().flatten() {
        if let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut() {
            object.pattern = Some(patterns::ODATA_STRING_CONTENT.to_owned());
        }
    }
}

/// The `roles` query of RemoveOrganizationMemberRole lists known roles.
fn document_membership_roles_query(api: &mut OpenApi) {
    let pattern = patterns::comma_separated(MEMBERSHIP_ROLES);
    let path = "/v1/organizations/{organizationId}/members/{userId}/roles";
    let operation = api
        .paths
        .paths
        .get_mut(path)
        .and_then(|item| item.delete.as_mut())
        .expect("RemoveOrganizationMemberRole is documented");
    let parameter = operation
        .parameters
        .iter_mut()
        .flatten()
        .find(|p| p.name == "roles")
        .expect("it has a roles parameter");
    let schema = parameter.schema.as_mut().expect("with a schema");
    if let RefOr::T(Schema::Object(object)) = schema {
        object.pattern = Some(pattern);
    }
}

/// Every text a request body carries is refused with a control character in
/// it (`nexus_core::validation::check_text`): every text property of the
/// request bodies gets that pattern, unless it has an enumeration or a
/// pattern of its own.
fn document_text_rule(api: &mut OpenApi) {
    fn text(schema: &mut RefOr<Schema>) {
        match schema {
            RefOr::T(Schema::Object(object)) => {
                let is_text = match &object.schema_type {
                    SchemaType::Type(kind) => *kind == Type::String,
                    SchemaType::Array(kinds) => kinds.contains(&Type::String),
                    SchemaType::AnyValue => false,
                };
                if is_text && object.enum_values.is_none() && object.pattern.is_none() {
                    object.pattern = Some(patterns::NO_CONTROL_CHARACTERS.to_owned());
                }
                for property in object.properties.values_mut() {
                    text(property);
                }
            }
            RefOr::T(Schema::Array(array)) => {
                if let ArrayItems::RefOrSchema(items) = &mut array.items {
                    text(items);
                }
            }
            _ => {}
        }
    }
    let Some(components) = api.components.as_mut() else {
        return;
    };
    for (name, schema) in components.schemas.iter_mut() {
        if name.ends_with("Body") || REQUEST_PARTS.contains(&name.as_str()) {
            text(schema);
        }
    }
}

/// Schemas used inside request bodies, besides the bodies themselves.
const REQUEST_PARTS: &[&str] = &[
    "SyncAttribute",
    "SyncConnection",
    "IdpMetadata",
    "PasswordCredential",
];

fn given(field: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .property(field, ObjectBuilder::new().schema_type(Type::String))
        .required(field)
}

fn absent(fields: &[&str]) -> ObjectBuilder {
    fields.iter().fold(ObjectBuilder::new(), |object, field| {
        object.property(*field, ObjectBuilder::new().schema_type(Type::Null))
    })
}

/// A property whose value, when given, is one of `values` (or null).
fn one_of_values(field: &str, kind: Type, values: &[serde_json::Value]) -> ObjectBuilder {
    let values = values.iter().cloned().chain([serde_json::Value::Null]);
    ObjectBuilder::new().property(
        field,
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([kind, Type::Null]))
            .enum_values(Some(values)),
    )
}

/// Adds a rule across the fields of a component schema: `allOf: [schema, rule]`.
fn refine(api: &mut OpenApi, name: &str, rule: impl Into<RefOr<Schema>>) {
    let schema = api
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut(name))
        .unwrap_or_else(|| panic!("{name} is not in the document"));
    // A second rule joins the first: `allOf` is a conjunction either way.
    match schema {
        RefOr::T(Schema::AllOf(all_of)) => all_of.items.push(rule.into()),
        _ => *schema = AllOfBuilder::new().item(schema.clone()).item(rule).into(),
    }
}

/// The rules that tie fields of one body together.
fn document_field_ties(api: &mut OpenApi) {
    // A role is named by `name` or by `productName`, never both: a new role
    // by exactly one of them, an update by at most one.
    refine(
        api,
        "NewRoleBody",
        OneOfBuilder::new()
            .item(given("name"))
            .item(given("productName")),
    );
    refine(
        api,
        "RoleBody",
        AnyOfBuilder::new()
            .item(absent(&["name"]))
            .item(absent(&["productName"])),
    );

    // A product created with its developer role has a name that leaves
    // room for the role's suffix (stated as a pattern: a length here would
    // read as the name's own limit).
    refine(
        api,
        "CreateProductBody",
        AnyOfBuilder::new()
            .item(absent(&["developersRoleAudience"]))
            .item(
                ObjectBuilder::new().property(
                    "name",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(format!(
                            "^[A-Za-z0-9][A-Za-z0-9._-]{{0,{}}}$",
                            nexus_core::product::NAME_WITH_DEVELOPERS_ROLE - 1
                        ))),
                ),
            ),
    );

    // Management credentials come as a pair: a client id with its secret. A
    // new tenant takes an audience only with them.
    let pair = || {
        given("managementClientId")
            .property(
                "managementClientSecret",
                ObjectBuilder::new().schema_type(Type::String),
            )
            .required("managementClientSecret")
    };
    let credentials = ["managementClientId", "managementClientSecret"];
    let with_audience = [credentials[0], credentials[1], "managementAudience"];
    refine(
        api,
        "NewIdpTenantBody",
        AnyOfBuilder::new()
            .item(absent(&with_audience))
            .item(pair()),
    );
    refine(
        api,
        "IdpTenantBody",
        AnyOfBuilder::new().item(absent(&credentials)).item(pair()),
    );

    // Just-in-time provisioning names its organization when on, and only
    // then; a new tenant turns it on only with Management credentials.
    let enabled = |value: bool| {
        ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .enum_values(Some([serde_json::json!(value)]))
    };
    refine(
        api,
        "JitProvisioningBody",
        AnyOfBuilder::new()
            .item(given("organization").property("enabled", enabled(true)))
            .item(absent(&["organization"]).property("enabled", enabled(false))),
    );
    let jit_off = ObjectBuilder::new().property(
        "jitProvisioning",
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
            .property("enabled", enabled(false)),
    );
    refine(
        api,
        "NewIdpTenantBody",
        AnyOfBuilder::new().item(jit_off).item(pair()),
    );

    // A key is given permissions, a role, or both.
    let some_permission = ObjectBuilder::new()
        .property(
            "permissions",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("[^ ]")),
        )
        .required("permissions");
    refine(
        api,
        "ApiKeyBody",
        AnyOfBuilder::new()
            .item(some_permission)
            .item(given("roleId")),
    );

    // A password, or a generated temporary one: not both.
    refine(
        api,
        "PasswordCredential",
        AnyOfBuilder::new()
            .item(absent(&["password"]))
            .item(one_of_values(
                "generateTempPassword",
                Type::Boolean,
                &[serde_json::json!(false)],
            )),
    );

    // A forgot-password e-mail names the application to return to: the two
    // come together or not at all.
    let flag = |values: &[serde_json::Value]| {
        let values = values.iter().cloned();
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Boolean, Type::Null]))
            .enum_values(Some(values))
    };
    refine(
        api,
        "PasswordCredential",
        AnyOfBuilder::new()
            .item(
                given("clientId")
                    .property("sendForgotPasswordEmail", flag(&[serde_json::json!(true)]))
                    .required("sendForgotPasswordEmail"),
            )
            .item(absent(&["clientId"]).property(
                "sendForgotPasswordEmail",
                flag(&[serde_json::json!(false), serde_json::Value::Null]),
            )),
    );

    // With `organizationIdType` `Id`, `organization` is a numeric id.
    let by_id = ObjectBuilder::new().property(
        "organization",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(patterns::ORGANIZATION_ID)),
    );
    refine(
        api,
        "CreateUserBody",
        AnyOfBuilder::new()
            .item(one_of_values(
                "organizationIdType",
                Type::String,
                &[serde_json::json!("Name")],
            ))
            .item(by_id),
    );
}
