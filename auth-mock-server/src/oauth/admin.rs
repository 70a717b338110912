//! The admin operations of the user-pool domain: domains, resource servers, identity
//! providers, provider links, and the checks of an app client's OAuth settings.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::{Domain, LinkedIdentity, OAuthFlow, PoolOAuth, Provider, ProviderType, ResourceServer};
use crate::cx::Cx;
use crate::state::{Object, State};
use crate::wire::with_next_token;
use crate::wire::{CognitoError, OpResult, empty, invalid_member, paginate, required};

/// The account id the mock reports (as in its ARNs).
const ACCOUNT_ID: &str = "000000000000";

/// The OAuth configuration of an existing pool (`None` while it has none).
fn pool_oauth<'a>(state: &'a State, pool_id: &str) -> OpResult<Option<&'a PoolOAuth>> {
    state.pool(pool_id)?;
    Ok(state.oauth.pool(pool_id))
}

/// The OAuth configuration of an existing pool, made empty first if it has none.
fn pool_oauth_mut<'a>(state: &'a mut State, pool_id: &str) -> OpResult<&'a mut PoolOAuth> {
    state.pool(pool_id)?;
    Ok(state.oauth.pools.entry(pool_id.to_owned()).or_default())
}

// ---------------------------------------------------------------------------------------------
// Domains

/// A CreateUserPoolDomain / UpdateUserPoolDomain / DeleteUserPoolDomain / DescribeUserPoolDomain
/// request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DomainRequest {
    domain: Option<String>,
    user_pool_id: Option<String>,
    managed_login_version: Option<i64>,
    custom_domain_config: Option<Value>,
}

/// Checks a prefix (`DomainType` pattern, no reserved words) or a custom FQDN.
fn check_domain_name(name: &str) -> OpResult<()> {
    if name.contains('.') {
        let labels_ok = name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !labels_ok {
            return Err(CognitoError::invalid_parameter(format!(
                "Domain {name} is not a valid domain name."
            )));
        }
        return Ok(());
    }
    let bytes = name.as_bytes();
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let pattern_ok = (1..=63).contains(&bytes.len())
        && edge_ok(bytes[0])
        && edge_ok(bytes[bytes.len() - 1])
        && bytes.iter().all(|&b| edge_ok(b) || b == b'-');
    if !pattern_ok {
        return Err(invalid_member(
            "Domain",
            "Member must satisfy regular expression pattern: ^[a-z0-9](?:[a-z0-9\\-]{0,61}[a-z0-9])?$",
        ));
    }
    if ["aws", "amazon", "cognito"].iter().any(|reserved| name.contains(reserved)) {
        return Err(CognitoError::invalid_parameter(format!(
            "Domain {name} contains a reserved word (aws, amazon or cognito)."
        )));
    }
    Ok(())
}

fn check_managed_login_version(version: Option<i64>) -> OpResult<i64> {
    match version {
        None => Ok(1),
        Some(v @ (1 | 2)) => Ok(v),
        Some(_) => Err(CognitoError::invalid_parameter("ManagedLoginVersion must be 1 or 2.")),
    }
}

fn cloudfront_domain(name: &str) -> String {
    // Stable per domain name, in CloudFront's shape.
    let digest = sha2::Sha256::digest(name.as_bytes());
    let id: String = digest.iter().take(7).map(|b| format!("{b:02x}")).collect();
    format!("d{id}.cloudfront.net")
}

/// CreateUserPoolDomain: a prefix or a custom domain (a pool may have one of each).
pub(crate) fn create_user_pool_domain(cx: &Cx<'_>, request: DomainRequest) -> OpResult {
    let name = required(&request.domain, "Domain")?.to_owned();
    let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
    check_domain_name(&name)?;
    let version = check_managed_login_version(request.managed_login_version)?;
    let custom = name.contains('.');
    let certificate = request
        .custom_domain_config
        .as_ref()
        .and_then(|c| c.get("CertificateArn"))
        .and_then(Value::as_str);
    if custom && certificate.is_none_or(str::is_empty) {
        return Err(CognitoError::invalid_parameter(
            "CustomDomainConfig.CertificateArn is required for a custom domain.",
        ));
    }
    let mut state = cx.shared.state.write();
    if state.oauth.domain(&name).is_some() {
        return Err(CognitoError::invalid_parameter(format!("Domain already exists: {name}")));
    }
    let oauth = pool_oauth_mut(&mut state, &pool_id)?;
    let slot = if custom { &mut oauth.custom_domain } else { &mut oauth.domain };
    if let Some(existing) = slot {
        return Err(CognitoError::invalid_parameter(format!(
            "User pool {pool_id} already has a domain configured: {}",
            existing.name
        )));
    }
    *slot = Some(Domain {
        name: name.clone(),
        pool_id,
        custom_config: request.custom_domain_config.clone().filter(|_| custom),
        managed_login_version: version,
    });
    let mut out = json!({ "ManagedLoginVersion": version });
    if custom {
        out["CloudFrontDomain"] = json!(cloudfront_domain(&name));
    }
    Ok(out)
}

fn domain_description(domain: &Domain) -> Value {
    let mut out = json!({
        "UserPoolId": domain.pool_id,
        "AWSAccountId": ACCOUNT_ID,
        "Domain": domain.name,
        "S3Bucket": format!("aws-cognito-prod-{}-assets", domain.pool_id.split('_').next().unwrap_or("us-east-1")),
        "CloudFrontDistribution": if domain.is_custom() { cloudfront_domain(&domain.name) } else { format!("{}.cloudfront.net", domain.name) },
        "Version": "20250101000000",
        "Status": "ACTIVE",
        "ManagedLoginVersion": domain.managed_login_version,
    });
    if let Some(config) = &domain.custom_config {
        out["CustomDomainConfig"] = config.clone();
    }
    out
}

/// DescribeUserPoolDomain: an unknown domain is `{"DomainDescription": {}}`, as in Cognito.
pub(crate) fn describe_user_pool_domain(cx: &Cx<'_>, request: DomainRequest) -> OpResult {
    let name = required(&request.domain, "Domain")?;
    let state = cx.shared.state.read();
    let description = state.oauth.domain(name).map_or_else(|| json!({}), domain_description);
    Ok(json!({ "DomainDescription": description }))
}

fn domain_slot<'a>(
    state: &'a mut State,
    pool_id: &str,
    name: &str,
) -> OpResult<&'a mut Option<Domain>> {
    let oauth = pool_oauth_mut(state, pool_id)?;
    let slot = if name.contains('.') { &mut oauth.custom_domain } else { &mut oauth.domain };
    if slot.as_ref().is_some_and(|d| d.name.eq_ignore_ascii_case(name)) {
        Ok(slot)
    } else {
        Err(CognitoError::resource_not_found(format!(
            "The domain {name} does not exist in user pool {pool_id}."
        )))
    }
}

/// UpdateUserPoolDomain: the branding version and the certificate, never the name.
pub(crate) fn update_user_pool_domain(cx: &Cx<'_>, request: DomainRequest) -> OpResult {
    let name = required(&request.domain, "Domain")?.to_owned();
    let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
    let mut state = cx.shared.state.write();
    let slot = domain_slot(&mut state, &pool_id, &name)?;
    let Some(domain) = slot.as_mut() else { return Err(CognitoError::internal("domain vanished")) };
    if let Some(version) = request.managed_login_version {
        domain.managed_login_version = check_managed_login_version(Some(version))?;
    }
    if domain.is_custom() {
        if let Some(config) = request.custom_domain_config {
            domain.custom_config = Some(config);
        }
    }
    let mut out = json!({ "ManagedLoginVersion": domain.managed_login_version });
    if domain.is_custom() {
        out["CloudFrontDomain"] = json!(cloudfront_domain(&domain.name));
    }
    Ok(out)
}

/// DeleteUserPoolDomain: the hosted pages and endpoints of the domain go away with it.
pub(crate) fn delete_user_pool_domain(cx: &Cx<'_>, request: DomainRequest) -> OpResult {
    let name = required(&request.domain, "Domain")?.to_owned();
    let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
    let mut state = cx.shared.state.write();
    *domain_slot(&mut state, &pool_id, &name)? = None;
    empty()
}

/// Adds `Domain` / `CustomDomain` to a DescribeUserPool answer.
pub(crate) fn describe_pool_domains(state: &State, pool_id: &str, described: &mut Value) {
    let Some(oauth) = state.oauth.pool(pool_id) else { return };
    if let Some(domain) = &oauth.domain {
        described["Domain"] = json!(domain.name);
    }
    if let Some(domain) = &oauth.custom_domain {
        described["CustomDomain"] = json!(domain.name);
    }
}

// ---------------------------------------------------------------------------------------------
// Resource servers

/// `ResourceServerScopeType`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ScopeType {
    scope_name: Option<String>,
    scope_description: Option<String>,
}

/// A resource-server operation's request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ResourceServerRequest {
    user_pool_id: Option<String>,
    identifier: Option<String>,
    name: Option<String>,
    scopes: Option<Vec<ScopeType>>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// `[\x21\x23-\x5B\x5D-\x7E]+`: printable ASCII without space, `"` and `\`.
fn is_scope_text(value: &str) -> bool {
    !value.is_empty()
        && value.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
}

fn check_resource_server(request: &ResourceServerRequest) -> OpResult<ResourceServer> {
    let identifier = required(&request.identifier, "Identifier")?;
    let name = required(&request.name, "Name")?;
    if identifier.len() > 256 || !is_scope_text(identifier) {
        return Err(invalid_member(
            "Identifier",
            "Member must satisfy regular expression pattern: [\\x21\\x23-\\x5B\\x5D-\\x7E]+",
        ));
    }
    let name_ok = name.chars().count() <= 256
        && name.chars().all(|c| c.is_alphanumeric() || c.is_whitespace() || "_+=,.@-".contains(c));
    if !name_ok {
        return Err(invalid_member(
            "Name",
            "Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+",
        ));
    }
    let scopes = request.scopes.as_deref().unwrap_or_default();
    if scopes.len() > 100 {
        return Err(invalid_member("Scopes", "Member must have length less than or equal to 100"));
    }
    let mut out: Vec<(String, String)> = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let scope_name = required(&scope.scope_name, "ScopeName")?;
        let description = required(&scope.scope_description, "ScopeDescription")?;
        if scope_name.len() > 256 || !is_scope_text(scope_name) || scope_name.contains('/') {
            return Err(invalid_member(
                "ScopeName",
                "Member must satisfy regular expression pattern: [\\x21\\x23-\\x2E\\x30-\\x5B\\x5D-\\x7E]+",
            ));
        }
        if description.chars().count() > 256 {
            return Err(invalid_member(
                "ScopeDescription",
                "Member must have length less than or equal to 256",
            ));
        }
        if out.iter().any(|(n, _)| n == scope_name) {
            return Err(CognitoError::invalid_parameter(format!(
                "Duplicate scope name {scope_name}."
            )));
        }
        out.push((scope_name.to_owned(), description.to_owned()));
    }
    Ok(ResourceServer { identifier: identifier.to_owned(), name: name.to_owned(), scopes: out })
}

fn resource_server_type(pool_id: &str, server: &ResourceServer) -> Value {
    let scopes: Vec<Value> = server
        .scopes
        .iter()
        .map(|(name, description)| json!({ "ScopeName": name, "ScopeDescription": description }))
        .collect();
    json!({
        "UserPoolId": pool_id,
        "Identifier": server.identifier,
        "Name": server.name,
        "Scopes": scopes,
    })
}

fn resource_server_not_found(identifier: &str) -> CognitoError {
    CognitoError::resource_not_found(format!("Resource server {identifier} does not exist."))
}

/// CreateResourceServer.
pub(crate) fn create_resource_server(cx: &Cx<'_>, request: ResourceServerRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
    let server = check_resource_server(&request)?;
    let mut state = cx.shared.state.write();
    let oauth = pool_oauth_mut(&mut state, &pool_id)?;
    if oauth.resource_servers.contains_key(&server.identifier) {
        return Err(CognitoError::invalid_parameter(format!(
            "A resource server with identifier {} already exists in this user pool.",
            server.identifier
        )));
    }
    if oauth.resource_servers.len() >= 300 {
        return Err(CognitoError::limit_exceeded("Too many resource servers in this user pool."));
    }
    let out = resource_server_type(&pool_id, &server);
    oauth.resource_servers.insert(server.identifier.clone(), server);
    Ok(json!({ "ResourceServer": out }))
}

/// DescribeResourceServer.
pub(crate) fn describe_resource_server(cx: &Cx<'_>, request: ResourceServerRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let identifier = required(&request.identifier, "Identifier")?;
    let state = cx.shared.state.read();
    let server = pool_oauth(&state, pool_id)?
        .and_then(|o| o.resource_servers.get(identifier))
        .ok_or_else(|| resource_server_not_found(identifier))?;
    Ok(json!({ "ResourceServer": resource_server_type(pool_id, server) }))
}

/// ListResourceServers (1–50 per page).
pub(crate) fn list_resource_servers(cx: &Cx<'_>, request: ResourceServerRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    if request.max_results.is_some_and(|m| !(1..=50).contains(&m)) {
        return Err(invalid_member("MaxResults", "Member must have value between 1 and 50"));
    }
    let state = cx.shared.state.read();
    let servers: Vec<Value> = pool_oauth(&state, pool_id)?
        .map(|o| o.resource_servers.values().map(|s| resource_server_type(pool_id, s)).collect())
        .unwrap_or_default();
    let (page, next) = paginate(&servers, request.max_results, request.next_token.as_deref(), 50)?;
    with_next_token(json!({ "ResourceServers": page }), "NextToken", next)
}

/// UpdateResourceServer: name and scopes are replaced (omitted scopes are dropped).
pub(crate) fn update_resource_server(cx: &Cx<'_>, request: ResourceServerRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
    let server = check_resource_server(&request)?;
    let mut state = cx.shared.state.write();
    let oauth = pool_oauth_mut(&mut state, &pool_id)?;
    let slot = oauth
        .resource_servers
        .get_mut(&server.identifier)
        .ok_or_else(|| resource_server_not_found(&server.identifier))?;
    *slot = server;
    Ok(json!({ "ResourceServer": resource_server_type(&pool_id, slot) }))
}

/// DeleteResourceServer. Clients keep naming its scopes; they are then simply not granted.
pub(crate) fn delete_resource_server(cx: &Cx<'_>, request: ResourceServerRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
    let identifier = required(&request.identifier, "Identifier")?;
    let mut state = cx.shared.state.write();
    let oauth = pool_oauth_mut(&mut state, &pool_id)?;
    oauth
        .resource_servers
        .remove(identifier)
        .ok_or_else(|| resource_server_not_found(identifier))?;
    empty()
}

// ---------------------------------------------------------------------------------------------
// App-client OAuth settings

/// The OAuth settings of an app client, read from its stored settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientOAuth {
    /// `AllowedOAuthFlowsUserPoolClient`: without it the client has no OAuth at all.
    pub(crate) enabled: bool,
    pub(crate) flows: Vec<OAuthFlow>,
    pub(crate) scopes: Vec<String>,
    pub(crate) callback_urls: Vec<String>,
    pub(crate) logout_urls: Vec<String>,
    pub(crate) default_redirect_uri: Option<String>,
    pub(crate) identity_providers: Vec<String>,
}

impl ClientOAuth {
    /// Reads the settings (already validated when stored).
    pub(crate) fn of(settings: &Object) -> Self {
        let list = |field: &str| crate::state::string_list(settings, field);
        Self {
            enabled: settings
                .get("AllowedOAuthFlowsUserPoolClient")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            flows: list("AllowedOAuthFlows").iter().filter_map(|f| OAuthFlow::parse(f)).collect(),
            scopes: list("AllowedOAuthScopes"),
            callback_urls: list("CallbackURLs"),
            logout_urls: list("LogoutURLs"),
            default_redirect_uri: settings
                .get("DefaultRedirectURI")
                .and_then(Value::as_str)
                .map(str::to_owned),
            identity_providers: list("SupportedIdentityProviders"),
        }
    }
}

impl ClientOAuth {
    /// Whether the client may use `flow` (OAuth must be switched on as well).
    pub(crate) fn allows(&self, flow: OAuthFlow) -> bool {
        self.enabled && self.flows.contains(&flow)
    }
}

/// Why a redirect URL is refused, or `None` when Cognito accepts it: absolute, no fragment,
/// HTTPS, or HTTP only to a loopback host, or an app scheme.
pub(crate) fn redirect_url_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() || value.len() > 1024 {
        return Some("must be 1 to 1024 characters long");
    }
    let Ok(url) = url::Url::parse(value) else { return Some("is not an absolute URL") };
    if url.fragment().is_some() {
        return Some("must not contain a fragment");
    }
    match url.scheme() {
        "https" => None,
        "http" => {
            let loopback = matches!(
                url.host(),
                Some(url::Host::Domain("localhost"))
                    | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                    | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
            );
            (!loopback).then_some("cannot use the HTTP protocol except for localhost")
        }
        _ => None,
    }
}

/// Checks the OAuth members of a CreateUserPoolClient/UpdateUserPoolClient request against
/// the pool (scopes must exist, providers must be configured).
pub(crate) fn check_client_oauth(
    state: &State,
    pool_id: &str,
    settings: &Object,
    has_secret: bool,
) -> OpResult<()> {
    for flow in crate::state::string_list(settings, "AllowedOAuthFlows") {
        if OAuthFlow::parse(&flow).is_none() {
            return Err(CognitoError::invalid_parameter(format!(
                "1 validation error detected: Value '[{flow}]' at 'allowedOAuthFlows' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [implicit, client_credentials, code]]"
            )));
        }
    }
    let oauth = ClientOAuth::of(settings);
    let pool_oauth = state.oauth.pool(pool_id);
    let empty_pool = PoolOAuth::default();
    let pool_oauth = pool_oauth.unwrap_or(&empty_pool);
    if oauth.scopes.len() > 50 {
        return Err(invalid_member(
            "AllowedOAuthScopes",
            "Member must have length less than or equal to 50",
        ));
    }
    for scope in &oauth.scopes {
        if !pool_oauth.scope_exists(scope) {
            return Err(CognitoError::new(
                "ScopeDoesNotExistException",
                format!("Invalid scope requested: {scope}"),
            ));
        }
    }
    if oauth.flows.contains(&OAuthFlow::ClientCredentials) {
        if oauth.flows.len() > 1 {
            return Err(invalid_flow(
                "client_credentials flow can not be selected along with code flow or implicit flow.",
            ));
        }
        if !has_secret {
            return Err(invalid_flow(
                "client_credentials flow can not be selected if client does not have a client secret.",
            ));
        }
        if let Some(scope) =
            oauth.scopes.iter().find(|s| super::STANDARD_SCOPES.contains(&s.as_str()))
        {
            return Err(invalid_flow(&format!(
                "client_credentials flow can only be used with custom scopes; {scope} is a standard scope."
            )));
        }
    }
    if oauth.enabled && (oauth.flows.is_empty() || oauth.scopes.is_empty()) {
        return Err(invalid_flow(
            "AllowedOAuthFlows and AllowedOAuthScopes are required if user pool client is allowed to use OAuth flows.",
        ));
    }
    for (field, urls) in
        [("CallbackURLs", &oauth.callback_urls), ("LogoutURLs", &oauth.logout_urls)]
    {
        if urls.len() > 100 {
            return Err(invalid_member(field, "Member must have length less than or equal to 100"));
        }
        for url in urls {
            if let Some(problem) = redirect_url_problem(url) {
                return Err(CognitoError::invalid_parameter(format!(
                    "{field}: the URL {url} {problem}."
                )));
            }
        }
    }
    if oauth.enabled
        && oauth.callback_urls.is_empty()
        && oauth.flows.iter().any(|f| matches!(f, OAuthFlow::Code | OAuthFlow::Implicit))
    {
        return Err(CognitoError::invalid_parameter(
            "CallbackURLs are required if the code or implicit flow is enabled.",
        ));
    }
    if let Some(default) = &oauth.default_redirect_uri {
        if !oauth.callback_urls.contains(default) {
            return Err(CognitoError::invalid_parameter(
                "DefaultRedirectURI must be one of the CallbackURLs.",
            ));
        }
    }
    for provider in &oauth.identity_providers {
        if provider != "COGNITO" && !pool_oauth.providers.contains_key(provider) {
            return Err(CognitoError::invalid_parameter(format!(
                "The provider {provider} does not exist for User Pool {pool_id}"
            )));
        }
    }
    Ok(())
}

fn invalid_flow(message: &str) -> CognitoError {
    CognitoError::new("InvalidOAuthFlowException", message.to_owned())
}

// ---------------------------------------------------------------------------------------------
// Identity providers

/// An identity-provider operation's request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ProviderRequest {
    user_pool_id: Option<String>,
    provider_name: Option<String>,
    provider_type: Option<String>,
    provider_details: Option<BTreeMap<String, String>>,
    attribute_mapping: Option<BTreeMap<String, String>>,
    idp_identifiers: Option<Vec<String>>,
    idp_identifier: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// `ProviderName`: 1–32 characters, no whitespace, `_` nowhere but in second place.
fn check_provider_name(name: &str) -> OpResult<()> {
    let ok = (1..=32).contains(&name.chars().count())
        && name
            .chars()
            .enumerate()
            .all(|(i, c)| !c.is_whitespace() && !c.is_control() && (c != '_' || i == 1));
    if ok {
        Ok(())
    } else {
        Err(invalid_member(
            "ProviderName",
            "Member must satisfy regular expression pattern: [^_\\p{Z}][\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}][^_\\p{Z}]+",
        ))
    }
}

fn check_idp_identifiers(identifiers: &[String]) -> OpResult<()> {
    if identifiers.len() > 50 {
        return Err(invalid_member(
            "IdpIdentifiers",
            "Member must have length less than or equal to 50",
        ));
    }
    for identifier in identifiers {
        let ok = (1..=40).contains(&identifier.chars().count())
            && identifier
                .chars()
                .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_+=.@-".contains(c));
        if !ok {
            return Err(invalid_member(
                "IdpIdentifiers",
                "Member must satisfy constraint: [Member must satisfy regular expression pattern: [\\w\\s+=.@-]+]",
            ));
        }
    }
    Ok(())
}

/// The keys every provider type must have in `ProviderDetails`.
fn required_details(kind: ProviderType) -> &'static [&'static str] {
    match kind {
        ProviderType::Oidc => &["client_id", "authorize_scopes", "oidc_issuer"],
        ProviderType::Saml => &[],
        ProviderType::Google | ProviderType::Facebook | ProviderType::LoginWithAmazon => {
            &["client_id", "client_secret", "authorize_scopes"]
        }
        ProviderType::SignInWithApple => {
            &["client_id", "team_id", "key_id", "private_key", "authorize_scopes"]
        }
    }
}

fn check_details(kind: ProviderType, details: &BTreeMap<String, String>) -> OpResult<()> {
    for key in required_details(kind) {
        if details.get(*key).is_none_or(String::is_empty) {
            return Err(CognitoError::invalid_parameter(format!(
                "ProviderDetails of a {} provider must contain {key}.",
                kind.as_str()
            )));
        }
    }
    if kind == ProviderType::Saml
        && !details.contains_key("MetadataURL")
        && !details.contains_key("MetadataFile")
    {
        return Err(CognitoError::invalid_parameter(
            "ProviderDetails of a SAML provider must contain MetadataURL or MetadataFile.",
        ));
    }
    if let Some(method) = details.get("attributes_request_method") {
        if method != "GET" && method != "POST" {
            return Err(CognitoError::invalid_parameter(
                "attributes_request_method must be GET or POST.",
            ));
        }
    }
    Ok(())
}

/// `ProviderDetails` as DescribeIdentityProvider shows them: what was sent plus the keys Cognito
/// fills in (the social providers' well-known endpoints); Apple's private key is never echoed.
fn described_details(provider: &Provider) -> BTreeMap<String, String> {
    let mut details = provider.details.clone();
    let mut fill = |key: &str, value: &str| {
        details.entry(key.to_owned()).or_insert_with(|| value.to_owned());
    };
    match provider.kind {
        ProviderType::Oidc => fill("attributes_url_add_attributes", "false"),
        ProviderType::Google => {
            fill("authorize_url", "https://accounts.google.com/o/oauth2/v2/auth");
            fill("token_url", "https://www.googleapis.com/oauth2/v4/token");
            fill("attributes_url", "https://people.googleapis.com/v1/people/me?personFields=");
            fill("oidc_issuer", "https://accounts.google.com");
            fill("token_request_method", "POST");
            fill("attributes_url_add_attributes", "true");
        }
        ProviderType::Facebook => {
            fill("authorize_url", "https://www.facebook.com/v17.0/dialog/oauth");
            fill("token_url", "https://graph.facebook.com/v17.0/oauth/access_token");
            fill("attributes_url", "https://graph.facebook.com/v17.0/me?fields=");
            fill("token_request_method", "GET");
            fill("attributes_url_add_attributes", "true");
        }
        ProviderType::LoginWithAmazon => {
            fill("authorize_url", "https://www.amazon.com/ap/oa");
            fill("token_url", "https://api.amazon.com/auth/o2/token");
            fill("attributes_url", "https://api.amazon.com/user/profile");
            fill("token_request_method", "POST");
            fill("attributes_url_add_attributes", "false");
        }
        ProviderType::SignInWithApple => {
            fill("authorize_url", "https://appleid.apple.com/auth/authorize");
            fill("token_url", "https://appleid.apple.com/auth/token");
            fill("oidc_issuer", "https://appleid.apple.com");
            fill("token_request_method", "POST");
            details.remove("private_key");
        }
        ProviderType::Saml => {}
    }
    details
}

fn provider_type(pool_id: &str, provider: &Provider) -> Value {
    json!({
        "UserPoolId": pool_id,
        "ProviderName": provider.name,
        "ProviderType": provider.kind.as_str(),
        "ProviderDetails": described_details(provider),
        "AttributeMapping": provider.attribute_mapping,
        "IdpIdentifiers": provider.idp_identifiers,
        "CreationDate": provider.created,
        "LastModifiedDate": provider.modified,
    })
}

fn provider_not_found(name: &str) -> CognitoError {
    CognitoError::resource_not_found(format!("Identity provider {name} does not exist."))
}

fn identifier_taken(oauth: &PoolOAuth, identifiers: &[String], except: &str) -> Option<String> {
    identifiers.iter().find_map(|identifier| {
        oauth
            .providers
            .values()
            .filter(|p| p.name != except)
            .any(|p| p.idp_identifiers.contains(identifier))
            .then(|| identifier.clone())
    })
}

/// CreateIdentityProvider.
pub(crate) fn create_identity_provider(cx: &Cx<'_>, request: ProviderRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
    let name = required(&request.provider_name, "ProviderName")?.to_owned();
    let kind_name = required(&request.provider_type, "ProviderType")?;
    check_provider_name(&name)?;
    let kind = ProviderType::parse(kind_name).ok_or_else(|| {
        CognitoError::invalid_parameter(format!(
            "1 validation error detected: Value '{kind_name}' at 'providerType' failed to satisfy constraint: Member must satisfy enum value set: [SAML, Facebook, Google, LoginWithAmazon, SignInWithApple, OIDC]"
        ))
    })?;
    if kind.is_social() && name != kind.as_str() {
        return Err(CognitoError::invalid_parameter(format!(
            "The provider name of a {} provider must be {}.",
            kind.as_str(),
            kind.as_str()
        )));
    }
    if name == "COGNITO" || name == "Cognito" {
        return Err(CognitoError::invalid_parameter("The provider name COGNITO is reserved."));
    }
    let details = request.provider_details.unwrap_or_default();
    check_details(kind, &details)?;
    let identifiers = request.idp_identifiers.unwrap_or_default();
    check_idp_identifiers(&identifiers)?;
    let mut mapping = request.attribute_mapping.unwrap_or_default();
    if let Some(key) = mapping.keys().find(|k| k.chars().count() > 32) {
        return Err(CognitoError::invalid_parameter(format!(
            "Invalid attribute mapping key {key}."
        )));
    }
    // Cognito maps the provider's subject to the username of OIDC-like providers itself.
    if matches!(kind, ProviderType::Oidc | ProviderType::Google | ProviderType::SignInWithApple) {
        mapping.entry("username".into()).or_insert_with(|| "sub".into());
    }
    let now = cx.now_f64();
    let mut state = cx.shared.state.write();
    let oauth = pool_oauth_mut(&mut state, &pool_id)?;
    if oauth.providers.contains_key(&name) {
        return Err(CognitoError::new(
            "DuplicateProviderException",
            format!("A provider with the name {name} already exists in this user pool."),
        ));
    }
    if let Some(taken) = identifier_taken(oauth, &identifiers, &name) {
        return Err(CognitoError::invalid_parameter(format!(
            "The IdP identifier {taken} is already used by another provider."
        )));
    }
    let provider = Provider {
        name: name.clone(),
        kind,
        details,
        attribute_mapping: mapping,
        idp_identifiers: identifiers,
        created: now,
        modified: now,
    };
    let out = provider_type(&pool_id, &provider);
    oauth.providers.insert(name, provider);
    Ok(json!({ "IdentityProvider": out }))
}

/// DescribeIdentityProvider.
pub(crate) fn describe_identity_provider(cx: &Cx<'_>, request: ProviderRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let name = required(&request.provider_name, "ProviderName")?;
    let state = cx.shared.state.read();
    let provider = pool_oauth(&state, pool_id)?
        .and_then(|o| o.providers.get(name))
        .ok_or_else(|| provider_not_found(name))?;
    Ok(json!({ "IdentityProvider": provider_type(pool_id, provider) }))
}

/// GetIdentityProviderByIdentifier.
pub(crate) fn get_identity_provider_by_identifier(
    cx: &Cx<'_>,
    request: ProviderRequest,
) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    let identifier = required(&request.idp_identifier, "IdpIdentifier")?;
    let state = cx.shared.state.read();
    let provider = pool_oauth(&state, pool_id)?
        .and_then(|o| {
            o.providers.values().find(|p| p.idp_identifiers.iter().any(|i| i == identifier))
        })
        .ok_or_else(|| {
            CognitoError::resource_not_found(format!(
                "Identity provider with identifier {identifier} does not exist."
            ))
        })?;
    Ok(json!({ "IdentityProvider": provider_type(pool_id, provider) }))
}

/// ListIdentityProviders (up to 60 per page).
pub(crate) fn list_identity_providers(cx: &Cx<'_>, request: ProviderRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?;
    if request.max_results.is_some_and(|m| !(0..=60).contains(&m)) {
        return Err(invalid_member("MaxResults", "Member must have value between 0 and 60"));
    }
    let state = cx.shared.state.read();
    let providers: Vec<Value> = pool_oauth(&state, pool_id)?
        .map(|o| {
            o.providers
                .values()
                .map(|p| {
                    json!({
                        "ProviderName": p.name,
                        "ProviderType": p.kind.as_str(),
                        "CreationDate": p.created,
                        "LastModifiedDate": p.modified,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let (page, next) =
        paginate(&providers, request.max_results, request.next_token.as_deref(), 60)?;
    with_next_token(json!({ "Providers": page }), "NextToken", next)
}

/// UpdateIdentityProvider: the members sent replace the stored ones.
pub(crate) fn update_identity_provider(cx: &Cx<'_>, request: ProviderRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
    let name = required(&request.provider_name, "ProviderName")?.to_owned();
    if let Some(identifiers) = &request.idp_identifiers {
        check_idp_identifiers(identifiers)?;
    }
    let now = cx.now_f64();
    let mut state = cx.shared.state.write();
    let oauth = pool_oauth_mut(&mut state, &pool_id)?;
    if let Some(identifiers) = &request.idp_identifiers {
        if let Some(taken) = identifier_taken(oauth, identifiers, &name) {
            return Err(CognitoError::invalid_parameter(format!(
                "The IdP identifier {taken} is already used by another provider."
            )));
        }
    }
    let provider = oauth.providers.get_mut(&name).ok_or_else(|| provider_not_found(&name))?;
    if let Some(details) = request.provider_details {
        // Secrets left out (Apple's private key, client secrets) are kept, as in Cognito.
        let mut merged = provider.details.clone();
        merged.extend(details);
        check_details(provider.kind, &merged)?;
        provider.details = merged;
    }
    if let Some(mapping) = request.attribute_mapping {
        provider.attribute_mapping = mapping;
    }
    if let Some(identifiers) = request.idp_identifiers {
        provider.idp_identifiers = identifiers;
    }
    provider.modified = now;
    Ok(json!({ "IdentityProvider": provider_type(&pool_id, provider) }))
}

/// DeleteIdentityProvider.
pub(crate) fn delete_identity_provider(cx: &Cx<'_>, request: ProviderRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
    let name = required(&request.provider_name, "ProviderName")?.to_owned();
    let mut state = cx.shared.state.write();
    let oauth = pool_oauth_mut(&mut state, &pool_id)?;
    oauth.providers.remove(&name).ok_or_else(|| provider_not_found(&name))?;
    oauth.links.retain(|identity, _| identity.provider != name);
    empty()
}

// ---------------------------------------------------------------------------------------------
// Provider links

/// `ProviderUserIdentifierType`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ProviderUser {
    provider_name: Option<String>,
    provider_attribute_name: Option<String>,
    provider_attribute_value: Option<String>,
}

/// AdminLinkProviderForUser / AdminDisableProviderForUser.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct LinkRequest {
    user_pool_id: Option<String>,
    destination_user: Option<ProviderUser>,
    source_user: Option<ProviderUser>,
    user: Option<ProviderUser>,
}

/// The most identities one user may have linked.
const MAX_LINKS: usize = 5;

/// The `identities` attribute of a user: its linked identities as Cognito writes them.
pub(crate) fn identities_attribute(
    links: impl Iterator<Item = (LinkedIdentity, String)>,
    oauth: &PoolOAuth,
    created_ms: u64,
) -> Option<String> {
    let list: Vec<Value> = links
        .map(|(identity, _)| {
            let kind = oauth.providers.get(&identity.provider).map(|p| p.kind);
            json!({
                "userId": identity.subject,
                "providerName": identity.provider,
                "providerType": kind.map_or("OIDC", ProviderType::as_str),
                "issuer": Value::Null,
                "primary": "false",
                "dateCreated": created_ms.to_string(),
            })
        })
        .collect();
    (!list.is_empty()).then(|| Value::Array(list).to_string())
}

fn refresh_identities(state: &mut State, pool_id: &str, username: &str, now_ms: u64) {
    let Some(oauth) = state.oauth.pools.get(pool_id) else { return };
    let links = oauth
        .links
        .iter()
        .filter(|(_, user)| user.as_str() == username)
        .map(|(identity, user)| (identity.clone(), user.clone()));
    let value = identities_attribute(links, oauth, now_ms);
    let Some(pool) = state.pools.get_mut(pool_id) else { return };
    let Some(user) = pool.user_mut(username) else { return };
    match value {
        Some(value) => user.attributes.insert("identities".into(), value),
        None => user.attributes.remove("identities"),
    };
}

/// AdminLinkProviderForUser: a federated identity that has not signed in yet will sign in as
/// an existing local user.
pub(crate) fn admin_link_provider_for_user(cx: &Cx<'_>, request: LinkRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
    let destination =
        request.destination_user.ok_or_else(|| CognitoError::missing("DestinationUser"))?;
    let source = request.source_user.ok_or_else(|| CognitoError::missing("SourceUser"))?;
    let destination_name =
        required(&destination.provider_attribute_value, "ProviderAttributeValue")?;
    let source_provider = required(&source.provider_name, "ProviderName")?.to_owned();
    let source_value =
        required(&source.provider_attribute_value, "ProviderAttributeValue")?.to_owned();
    if destination.provider_name.as_deref().is_some_and(|p| !p.eq_ignore_ascii_case("Cognito")) {
        return Err(CognitoError::invalid_parameter(
            "DestinationUser must be a Cognito user (ProviderName Cognito).",
        ));
    }
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let pool = state.pool(&pool_id)?;
    let username =
        pool.user(destination_name).ok_or_else(crate::state::user_not_found)?.username.clone();
    let federated_name = format!("{source_provider}_{source_value}");
    if pool.user(&federated_name).is_some() {
        return Err(CognitoError::invalid_parameter(
            "Merging is not currently supported, provide a SourceUser that has not been used to sign into the user pool.",
        ));
    }
    let oauth = pool_oauth_mut(&mut state, &pool_id)?;
    if !oauth.providers.contains_key(&source_provider) {
        return Err(CognitoError::invalid_parameter(format!(
            "The provider {source_provider} does not exist for User Pool {pool_id}"
        )));
    }
    let identity = LinkedIdentity { provider: source_provider, subject: source_value };
    if oauth.links.get(&identity).is_some_and(|linked| *linked != username) {
        return Err(CognitoError::alias_exists("This identity is already linked to another user."));
    }
    if oauth.links.values().filter(|u| **u == username).count() >= MAX_LINKS {
        return Err(CognitoError::limit_exceeded("A user can have at most 5 linked identities."));
    }
    let _ = source.provider_attribute_name;
    oauth.links.insert(identity, username.clone());
    refresh_identities(&mut state, &pool_id, &username, now.saturating_mul(1000));
    empty()
}

/// AdminDisableProviderForUser: removes a link, and disables a federated user of that identity.
pub(crate) fn admin_disable_provider_for_user(cx: &Cx<'_>, request: LinkRequest) -> OpResult {
    let pool_id = required(&request.user_pool_id, "UserPoolId")?.to_owned();
    let user = request.user.ok_or_else(|| CognitoError::missing("User"))?;
    let provider = required(&user.provider_name, "ProviderName")?.to_owned();
    let value = required(&user.provider_attribute_value, "ProviderAttributeValue")?.to_owned();
    let now = cx.now();
    let mut state = cx.shared.state.write();
    let oauth = pool_oauth_mut(&mut state, &pool_id)?;
    if provider.eq_ignore_ascii_case("Cognito") {
        return Err(CognitoError::invalid_parameter(
            "Disabling password sign-in of a Cognito user is not emulated; use AdminDisableUser.",
        ));
    }
    if !oauth.providers.contains_key(&provider) {
        return Err(CognitoError::invalid_parameter(format!(
            "The provider {provider} does not exist for User Pool {pool_id}"
        )));
    }
    let identity = LinkedIdentity { provider: provider.clone(), subject: value.clone() };
    let linked = oauth.links.remove(&identity);
    if let Some(username) = linked {
        refresh_identities(&mut state, &pool_id, &username, now.saturating_mul(1000));
    }
    let pool = state.pool_mut(&pool_id)?;
    if let Some(federated) = pool.user_mut(&format!("{provider}_{value}")) {
        federated.enabled = false;
        federated.modified = now as f64;
    }
    empty()
}

// ---------------------------------------------------------------------------------------------
// Seeds

/// The OAuth settings of the demo pool's web client: the code flow back to
/// `http://localhost:3000/callback`.
pub(crate) fn demo_client_settings() -> BTreeMap<String, Value> {
    BTreeMap::from([
        ("AllowedOAuthFlowsUserPoolClient".to_owned(), json!(true)),
        ("AllowedOAuthFlows".to_owned(), json!(["code"])),
        (
            "AllowedOAuthScopes".to_owned(),
            json!(["openid", "email", "profile", super::SIGNIN_SCOPE]),
        ),
        ("CallbackURLs".to_owned(), json!(["http://localhost:3000/callback"])),
        ("LogoutURLs".to_owned(), json!(["http://localhost:3000/"])),
        ("SupportedIdentityProviders".to_owned(), json!(["COGNITO"])),
    ])
}

/// Creates a seeded pool's domains, resource servers and identity providers, then checks its
/// clients' OAuth settings; returns the hosted sign-in paths of its code-flow clients.
pub(crate) fn apply_seed(
    shared: &crate::Shared,
    pool_id: &str,
    seed: &crate::seed::SeedPool,
) -> Result<Vec<(String, String)>, String> {
    let call = |operation: &str, body: Value| {
        shared
            .call(operation, body)
            .map(|_| ())
            .map_err(|e| format!("pool {}: {operation}: {}", seed.name, e.message()))
    };
    if let Some(domain) = &seed.domain {
        call("CreateUserPoolDomain", json!({ "UserPoolId": pool_id, "Domain": domain }))?;
    }
    if let Some(domain) = &seed.custom_domain {
        call(
            "CreateUserPoolDomain",
            json!({
                "UserPoolId": pool_id,
                "Domain": domain,
                "CustomDomainConfig": {
                    "CertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/seed",
                },
            }),
        )?;
    }
    for server in &seed.resource_servers {
        let scopes: Vec<Value> = server
            .scopes
            .iter()
            .map(
                |(name, description)| json!({ "ScopeName": name, "ScopeDescription": description }),
            )
            .collect();
        call(
            "CreateResourceServer",
            json!({
                "UserPoolId": pool_id,
                "Identifier": server.identifier,
                "Name": server.name,
                "Scopes": scopes,
            }),
        )?;
    }
    for provider in &seed.identity_providers {
        call(
            "CreateIdentityProvider",
            json!({
                "UserPoolId": pool_id,
                "ProviderName": provider.name,
                "ProviderType": provider.provider_type,
                "ProviderDetails": provider.details,
                "AttributeMapping": provider.attribute_mapping,
                "IdpIdentifiers": provider.idp_identifiers,
            }),
        )?;
    }
    let state = shared.state.read();
    let pool = state.pool(pool_id).map_err(|e| e.message().to_owned())?;
    let has_domain = seed.domain.is_some() || seed.custom_domain.is_some();
    let mut sign_in = Vec::new();
    for client in pool.clients.values() {
        let name = client.settings.get("ClientName").and_then(Value::as_str).unwrap_or_default();
        check_client_oauth(&state, pool_id, &client.settings, client.secret.is_some())
            .map_err(|e| format!("pool {}: client {name}: {}", seed.name, e.message()))?;
        let oauth = ClientOAuth::of(&client.settings);
        if let (true, true, Some(callback)) =
            (has_domain, oauth.allows(OAuthFlow::Code), oauth.callback_urls.first())
        {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("response_type", "code");
            query.append_pair("client_id", &client.id);
            query.append_pair("redirect_uri", callback);
            query.append_pair("scope", &oauth.scopes.join(" "));
            sign_in.push((name.to_owned(), format!("/oauth2/authorize?{}", query.finish())));
        }
    }
    Ok(sign_in)
}
