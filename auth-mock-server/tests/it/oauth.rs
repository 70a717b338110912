//! The user-pool domain through the official SDK: domains, resource servers, app-client OAuth
//! settings, identity providers and provider links.
//!
//! The scenarios are also run by `sdk::every_operation_is_exercised`, which proves every
//! operation of the table was called.

use aws_sdk_cognitoidentityprovider::types::{
    CustomDomainConfigType, DomainStatusType, IdentityProviderTypeType, OAuthFlowType,
    ProviderUserIdentifierType, ResourceServerScopeType,
};

use crate::support::{Fixture, assert_code, fixture, scenario_tests};

fn scope(name: &str) -> ResourceServerScopeType {
    ResourceServerScopeType::builder()
        .scope_name(name)
        .scope_description(format!("{name} access"))
        .build()
        .unwrap()
}

/// Prefix and custom domains: create, describe, update, delete, and DescribeUserPool.
pub(crate) async fn domains(f: &Fixture) {
    let sdk = &f.sdk;
    let created =
        sdk.create_user_pool_domain().user_pool_id(&f.pool).domain("my-app").send().await.unwrap();
    assert_eq!(created.managed_login_version(), Some(1));
    assert_eq!(created.cloud_front_domain(), None, "prefix domains have no CloudFront domain");
    assert_code(
        sdk.create_user_pool_domain().user_pool_id(&f.pool).domain("other").send().await,
        "InvalidParameterException",
    );
    assert_code(
        sdk.create_user_pool_domain().user_pool_id(&f.pool).domain("my-aws-app").send().await,
        "InvalidParameterException",
    );
    assert_code(
        sdk.create_user_pool_domain().user_pool_id(&f.pool).domain("Bad_Prefix").send().await,
        "InvalidParameterException",
    );
    assert_code(
        sdk.create_user_pool_domain().user_pool_id(&f.pool).domain("auth.example.com").send().await,
        "InvalidParameterException",
    );
    let custom = sdk
        .create_user_pool_domain()
        .user_pool_id(&f.pool)
        .domain("auth.example.com")
        .custom_domain_config(
            CustomDomainConfigType::builder()
                .certificate_arn("arn:aws:acm:us-east-1:000000000000:certificate/x")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(custom.cloud_front_domain().is_some_and(|d| d.ends_with(".cloudfront.net")));

    let described = sdk.describe_user_pool_domain().domain("my-app").send().await.unwrap();
    let description = described.domain_description().unwrap();
    assert_eq!(description.user_pool_id(), Some(f.pool.as_str()));
    assert_eq!(description.status(), Some(&DomainStatusType::Active));
    let unknown = sdk.describe_user_pool_domain().domain("nobody").send().await.unwrap();
    assert_eq!(unknown.domain_description().and_then(|d| d.domain()), None);

    let pool = sdk.describe_user_pool().user_pool_id(&f.pool).send().await.unwrap();
    assert_eq!(pool.user_pool().unwrap().domain(), Some("my-app"));
    assert_eq!(pool.user_pool().unwrap().custom_domain(), Some("auth.example.com"));

    let updated = sdk
        .update_user_pool_domain()
        .user_pool_id(&f.pool)
        .domain("my-app")
        .managed_login_version(2)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.managed_login_version(), Some(2));

    sdk.delete_user_pool_domain()
        .user_pool_id(&f.pool)
        .domain("auth.example.com")
        .send()
        .await
        .unwrap();
    assert_code(
        sdk.delete_user_pool_domain().user_pool_id(&f.pool).domain("auth.example.com").send().await,
        "ResourceNotFoundException",
    );
    let pool = sdk.describe_user_pool().user_pool_id(&f.pool).send().await.unwrap();
    assert_eq!(pool.user_pool().unwrap().custom_domain(), None);
}

/// Resource servers and their custom scopes.
pub(crate) async fn resource_servers(f: &Fixture) {
    let sdk = &f.sdk;
    let created = sdk
        .create_resource_server()
        .user_pool_id(&f.pool)
        .identifier("https://api.example.com")
        .name("API")
        .scopes(scope("read"))
        .scopes(scope("write"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.resource_server().unwrap().scopes().len(), 2);
    assert_code(
        sdk.create_resource_server()
            .user_pool_id(&f.pool)
            .identifier("https://api.example.com")
            .name("Again")
            .send()
            .await,
        "InvalidParameterException",
    );
    assert_code(
        sdk.create_resource_server()
            .user_pool_id(&f.pool)
            .identifier("orders")
            .name("Orders")
            .scopes(scope("a/b"))
            .send()
            .await,
        "InvalidParameterException",
    );
    sdk.create_resource_server()
        .user_pool_id(&f.pool)
        .identifier("orders")
        .name("Orders")
        .scopes(scope("list"))
        .send()
        .await
        .unwrap();

    let described = sdk
        .describe_resource_server()
        .user_pool_id(&f.pool)
        .identifier("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(described.resource_server().unwrap().name(), Some("Orders"));

    let first = sdk.list_resource_servers().user_pool_id(&f.pool).max_results(1).send().await;
    let first = first.unwrap();
    assert_eq!(first.resource_servers().len(), 1);
    let rest = sdk
        .list_resource_servers()
        .user_pool_id(&f.pool)
        .max_results(1)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.resource_servers().len(), 1);
    assert_ne!(rest.resource_servers()[0].identifier(), first.resource_servers()[0].identifier());

    let updated = sdk
        .update_resource_server()
        .user_pool_id(&f.pool)
        .identifier("orders")
        .name("Orders v2")
        .scopes(scope("list"))
        .scopes(scope("cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.resource_server().unwrap().scopes().len(), 2);

    sdk.delete_resource_server().user_pool_id(&f.pool).identifier("orders").send().await.unwrap();
    assert_code(
        sdk.describe_resource_server().user_pool_id(&f.pool).identifier("orders").send().await,
        "ResourceNotFoundException",
    );
}

/// App-client OAuth settings: stored, described, validated.
pub(crate) async fn client_oauth_settings(f: &Fixture) {
    let sdk = &f.sdk;
    let pool = &f.pool;
    let web = sdk
        .create_user_pool_client()
        .user_pool_id(pool)
        .client_name("web")
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::Code)
        .allowed_o_auth_scopes("openid")
        .allowed_o_auth_scopes("email")
        .allowed_o_auth_scopes("https://api.example.com/read")
        .callback_urls("http://localhost:3000/callback")
        .callback_urls("https://app.example.com/cb")
        .logout_urls("https://app.example.com/bye")
        .default_redirect_uri("https://app.example.com/cb")
        .supported_identity_providers("COGNITO")
        .send()
        .await
        .unwrap();
    let web = web.user_pool_client().unwrap();
    assert_eq!(web.allowed_o_auth_flows(), &[OAuthFlowType::Code]);
    assert_eq!(web.allowed_o_auth_scopes().len(), 3);
    assert_eq!(web.callback_urls().len(), 2);
    assert_eq!(web.allowed_o_auth_flows_user_pool_client(), Some(true));
    let described = sdk
        .describe_user_pool_client()
        .user_pool_id(pool)
        .client_id(web.client_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.user_pool_client().unwrap().logout_urls(),
        &["https://app.example.com/bye"]
    );

    let base = || {
        sdk.create_user_pool_client()
            .user_pool_id(pool)
            .client_name("bad")
            .allowed_o_auth_flows_user_pool_client(true)
    };
    // A scope no resource server defines.
    assert_code(
        base()
            .allowed_o_auth_flows(OAuthFlowType::Code)
            .allowed_o_auth_scopes("https://api.example.com/delete")
            .callback_urls("https://app.example.com/cb")
            .send()
            .await,
        "ScopeDoesNotExistException",
    );
    // client_credentials needs a secret, custom scopes, and no other flow.
    assert_code(
        base()
            .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
            .allowed_o_auth_scopes("https://api.example.com/read")
            .send()
            .await,
        "InvalidOAuthFlowException",
    );
    assert_code(
        base()
            .generate_secret(true)
            .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
            .allowed_o_auth_flows(OAuthFlowType::Code)
            .allowed_o_auth_scopes("https://api.example.com/read")
            .callback_urls("https://app.example.com/cb")
            .send()
            .await,
        "InvalidOAuthFlowException",
    );
    let m2m = base()
        .generate_secret(true)
        .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
        .allowed_o_auth_scopes("https://api.example.com/read")
        .send()
        .await
        .unwrap();
    assert!(m2m.user_pool_client().unwrap().client_secret().is_some());
    // Plain HTTP only to localhost; the default redirect must be a callback URL.
    assert_code(
        base()
            .allowed_o_auth_flows(OAuthFlowType::Code)
            .allowed_o_auth_scopes("openid")
            .callback_urls("http://app.example.com/cb")
            .send()
            .await,
        "InvalidParameterException",
    );
    assert_code(
        base()
            .allowed_o_auth_flows(OAuthFlowType::Code)
            .allowed_o_auth_scopes("openid")
            .callback_urls("https://app.example.com/cb#frag")
            .send()
            .await,
        "InvalidParameterException",
    );
    assert_code(
        base()
            .allowed_o_auth_flows(OAuthFlowType::Code)
            .allowed_o_auth_scopes("openid")
            .callback_urls("https://app.example.com/cb")
            .default_redirect_uri("https://app.example.com/other")
            .send()
            .await,
        "InvalidParameterException",
    );
    assert_code(
        base()
            .allowed_o_auth_flows(OAuthFlowType::Code)
            .allowed_o_auth_scopes("openid")
            .callback_urls("https://app.example.com/cb")
            .supported_identity_providers("Nobody")
            .send()
            .await,
        "InvalidParameterException",
    );
    // UpdateUserPoolClient applies the same checks.
    assert_code(
        sdk.update_user_pool_client()
            .user_pool_id(pool)
            .client_id(web.client_id().unwrap())
            .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
            .allowed_o_auth_scopes("https://api.example.com/read")
            .send()
            .await,
        "InvalidOAuthFlowException",
    );
}

/// OIDC and social identity providers, identifiers, and provider links.
pub(crate) async fn identity_providers(f: &Fixture) {
    let sdk = &f.sdk;
    let pool = &f.pool;
    let created = sdk
        .create_identity_provider()
        .user_pool_id(pool)
        .provider_name("Corp")
        .provider_type(IdentityProviderTypeType::Oidc)
        .provider_details("client_id", "corp-client")
        .provider_details("client_secret", "corp-secret")
        .provider_details("authorize_scopes", "openid email")
        .provider_details("oidc_issuer", "https://login.corp.example")
        .attribute_mapping("email", "email")
        .idp_identifiers("corp.example")
        .send()
        .await
        .unwrap();
    let provider = created.identity_provider().unwrap();
    assert_eq!(provider.provider_type(), Some(&IdentityProviderTypeType::Oidc));
    let mapping = provider.attribute_mapping().unwrap();
    assert_eq!(mapping.get("username").map(String::as_str), Some("sub"));
    assert_eq!(mapping.get("email").map(String::as_str), Some("email"));
    assert_code(
        sdk.create_identity_provider()
            .user_pool_id(pool)
            .provider_name("Corp")
            .provider_type(IdentityProviderTypeType::Oidc)
            .provider_details("client_id", "x")
            .provider_details("authorize_scopes", "openid")
            .provider_details("oidc_issuer", "https://x.example")
            .send()
            .await,
        "DuplicateProviderException",
    );
    assert_code(
        sdk.create_identity_provider()
            .user_pool_id(pool)
            .provider_name("Broken")
            .provider_type(IdentityProviderTypeType::Oidc)
            .provider_details("client_id", "x")
            .send()
            .await,
        "InvalidParameterException",
    );
    let google = sdk
        .create_identity_provider()
        .user_pool_id(pool)
        .provider_name("Google")
        .provider_type(IdentityProviderTypeType::Google)
        .provider_details("client_id", "g")
        .provider_details("client_secret", "gs")
        .provider_details("authorize_scopes", "openid email profile")
        .send()
        .await
        .unwrap();
    let details = google.identity_provider().unwrap().provider_details().unwrap();
    assert_eq!(details.get("oidc_issuer").map(String::as_str), Some("https://accounts.google.com"));

    let by_identifier = sdk
        .get_identity_provider_by_identifier()
        .user_pool_id(pool)
        .idp_identifier("corp.example")
        .send()
        .await
        .unwrap();
    assert_eq!(by_identifier.identity_provider().unwrap().provider_name(), Some("Corp"));
    let listed = sdk.list_identity_providers().user_pool_id(pool).max_results(10).send().await;
    assert_eq!(listed.unwrap().providers().len(), 2);

    let updated = sdk
        .update_identity_provider()
        .user_pool_id(pool)
        .provider_name("Corp")
        .attribute_mapping("email", "mail")
        .idp_identifiers("corp.example")
        .idp_identifiers("corp.test")
        .send()
        .await
        .unwrap();
    let updated = updated.identity_provider().unwrap();
    assert_eq!(updated.idp_identifiers().len(), 2);
    assert_eq!(
        updated.provider_details().unwrap().get("client_secret").map(String::as_str),
        Some("corp-secret"),
        "details left out of an update are kept"
    );
    let described = sdk
        .describe_identity_provider()
        .user_pool_id(pool)
        .provider_name("Corp")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.identity_provider().unwrap().attribute_mapping().unwrap().get("email"),
        Some(&"mail".to_owned())
    );

    // Link a Corp identity to alice; her `identities` attribute lists it.
    let cognito_user = ProviderUserIdentifierType::builder()
        .provider_name("Cognito")
        .provider_attribute_value("alice")
        .build();
    let corp_user = ProviderUserIdentifierType::builder()
        .provider_name("Corp")
        .provider_attribute_name("Cognito_Subject")
        .provider_attribute_value("corp-sub-1")
        .build();
    sdk.admin_link_provider_for_user()
        .user_pool_id(pool)
        .destination_user(cognito_user.clone())
        .source_user(corp_user.clone())
        .send()
        .await
        .unwrap();
    let identities =
        |user: &aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput| {
            user.user_attributes()
                .iter()
                .find(|a| a.name() == "identities")
                .and_then(|a| a.value())
                .map(str::to_owned)
        };
    let alice = sdk.admin_get_user().user_pool_id(pool).username("alice").send().await.unwrap();
    let listed: serde_json::Value = serde_json::from_str(&identities(&alice).unwrap()).unwrap();
    assert_eq!(listed[0]["providerName"], "Corp");
    assert_eq!(listed[0]["userId"], "corp-sub-1");
    assert_code(
        sdk.admin_link_provider_for_user()
            .user_pool_id(pool)
            .destination_user(cognito_user)
            .source_user(
                ProviderUserIdentifierType::builder()
                    .provider_name("Nobody")
                    .provider_attribute_name("Cognito_Subject")
                    .provider_attribute_value("x")
                    .build(),
            )
            .send()
            .await,
        "InvalidParameterException",
    );
    sdk.admin_disable_provider_for_user().user_pool_id(pool).user(corp_user).send().await.unwrap();
    let alice = sdk.admin_get_user().user_pool_id(pool).username("alice").send().await.unwrap();
    assert_eq!(identities(&alice), None, "the link is gone");

    sdk.delete_identity_provider().user_pool_id(pool).provider_name("Google").send().await.unwrap();
    assert_code(
        sdk.describe_identity_provider().user_pool_id(pool).provider_name("Google").send().await,
        "ResourceNotFoundException",
    );
}

// Each scenario on a server of its own; `sdk::every_operation_is_exercised` runs them all
// on one.
scenario_tests! {
    domains_are_created_described_updated_and_deleted => domains;
    resource_servers_define_custom_scopes => resource_servers;
    identity_providers_and_links => identity_providers;
}

#[tokio::test]
async fn client_oauth_settings_are_stored_and_validated() {
    let f = fixture().await;
    resource_servers_for_clients(&f).await;
    client_oauth_settings(&f).await;
}

/// The resource server the client scenarios name.
pub(crate) async fn resource_servers_for_clients(f: &Fixture) {
    f.sdk
        .create_resource_server()
        .user_pool_id(&f.pool)
        .identifier("https://api.example.com")
        .name("API")
        .scopes(scope("read"))
        .send()
        .await
        .unwrap();
}
