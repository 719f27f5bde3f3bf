//! The OpenID Connect relying party: discovery (cached, refreshed when the provider's keys
//! change), the authorization request with PKCE, state and nonce, the code exchange, ID
//! token verification, and the provider's sign-out address.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreResponseType,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, Client,
    ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndSessionUrl, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IdToken, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::OpenIdSettings;

/// Every claim of the ID token beyond the standard ones, kept as JSON: which of them
/// name the user and their groups is configuration (`auth.*_claim`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    claims: HashMap<String, serde_json::Value>,
}
impl AdditionalClaims for OtherClaims {}

type TokenFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<TokenFields, CoreTokenType>;
type AppIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
/// A client as `from_provider_metadata(..).set_redirect_uri(..)` makes it.
type AppClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Discovery is redone after this long, so rotated signing keys are picked up even
/// without a failed verification.
const REDISCOVER_AFTER: Duration = Duration::from_secs(3600);
/// A sign-in must come back within this time.
pub const PENDING_FOR_SECONDS: i64 = 600;

/// A sign-in started here and not yet finished: kept in the browser's session until the
/// provider sends the browser back.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    /// The PKCE verifier: only this session can exchange the code the provider returns.
    pub verifier: String,
    pub next: String,
    pub started_at: i64,
}

/// Why a sign-in through the provider failed, in words for the person and the record.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the sign-in provider cannot be reached or did not answer as expected: {0}")]
    Discovery(String),
    #[error("the sign-in provider refused to exchange the sign-in code: {0}")]
    Exchange(String),
    #[error("the sign-in provider sent no ID token")]
    NoIdToken,
    #[error("the ID token was refused: {0}")]
    Token(String),
}

struct Discovered {
    client: AppClient,
    end_session: Option<EndSessionUrl>,
    at: Instant,
}

pub struct OpenId {
    settings: OpenIdSettings,
    http: openidconnect::reqwest::Client,
    discovered: Mutex<Option<Arc<Discovered>>>,
}

impl OpenId {
    pub fn new(settings: OpenIdSettings) -> Result<Self, OidcError> {
        // The back channel never follows redirects: a redirect to an internal address is a
        // classic request forgery, and no provider needs one.
        let http = openidconnect::reqwest::Client::builder()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        Ok(Self { settings, http, discovered: Mutex::new(None) })
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    fn cached(&self) -> Option<Arc<Discovered>> {
        self.discovered.lock().ok().and_then(|d| d.clone())
    }

    async fn provider(&self, fresh: bool) -> Result<Arc<Discovered>, OidcError> {
        if let Some(d) = self.cached().filter(|d| !fresh && d.at.elapsed() < REDISCOVER_AFTER) {
            return Ok(d);
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Discovery(words(&e)))?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let redirect = RedirectUrl::from_url(self.settings.redirect_url.clone());
        let client: AppClient = Client::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.expose_secret().to_owned())),
        )
        .set_redirect_uri(redirect);
        let discovered = Arc::new(Discovered { client, end_session, at: Instant::now() });
        if let Ok(mut slot) = self.discovered.lock() {
            *slot = Some(Arc::clone(&discovered));
        }
        tracing::info!(issuer = %self.settings.issuer, "discovered the sign-in provider");
        Ok(discovered)
    }

    /// Discovers the provider now, so a wrong issuer shows in the log at start; the
    /// server starts anyway and retries at the first sign-in.
    pub async fn warm_up(&self) {
        if let Err(error) = self.provider(false).await {
            tracing::warn!(%error, issuer = %self.settings.issuer, "sign-in provider not reachable yet");
        }
    }

    /// The provider's authorization address for a new sign-in, and what to keep until
    /// the browser comes back.
    pub async fn begin(&self, next: String, now: i64) -> Result<(url::Url, Pending), OidcError> {
        let provider = self.provider(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = provider.client.authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self.settings.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let pending = Pending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            next,
            started_at: now,
        };
        Ok((url, pending))
    }

    /// Exchanges the code (with this sign-in's PKCE verifier) and verifies the ID token:
    /// signature, issuer, audience, expiry and nonce. Returns the claims and the raw token.
    pub async fn finish(
        &self,
        pending: &Pending,
        code: String,
    ) -> Result<(HashMap<String, serde_json::Value>, String), OidcError> {
        let provider = self.provider(false).await?;
        let request = provider
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Exchange(e.to_string()))?;
        let tokens = request
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Exchange(exchange_words(&e)))?;
        let id_token = tokens.id_token().ok_or(OidcError::NoIdToken)?;
        let nonce = Nonce::new(pending.nonce.clone());
        let claims = match id_token.claims(&provider.client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            // The provider may have rotated its keys since discovery: look again, once.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let provider = self.provider(true).await?;
                let verified = id_token.claims(&provider.client.id_token_verifier(), &nonce);
                verified.map_err(|e| OidcError::Token(verification_words(&e)))?.clone()
            }
            Err(e) => return Err(OidcError::Token(verification_words(&e))),
        };
        let mut map = claims.additional_claims().claims.clone();
        let standard = [
            ("sub", Some(claims.subject().to_string())),
            ("name", claims.name().and_then(|n| n.get(None)).map(|n| n.to_string())),
            ("email", claims.email().map(|e| e.to_string())),
            ("preferred_username", claims.preferred_username().map(|u| u.to_string())),
        ];
        for (key, value) in standard {
            if let Some(value) = value {
                map.insert(key.to_owned(), serde_json::Value::String(value));
            }
        }
        Ok((map, id_token.to_string()))
    }

    /// Where to send the browser to sign out at the provider too, if it offers that.
    pub fn sign_out_url(&self, id_token: Option<&str>, after: url::Url) -> Option<url::Url> {
        let provider = self.cached()?;
        let endpoint = provider.end_session.clone()?;
        let mut request = openidconnect::LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(self.settings.client_id.clone()))
            .set_post_logout_redirect_uri(PostLogoutRedirectUrl::from_url(after));
        if let Some(token) = id_token.and_then(|t| t.parse::<AppIdToken>().ok()) {
            request = request.set_id_token_hint(&token);
        }
        Some(request.http_get_url())
    }
}

fn words(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

fn exchange_words<RE: std::error::Error + 'static>(
    error: &openidconnect::RequestTokenError<RE, StandardErrorResponse<CoreErrorResponseType>>,
) -> String {
    match error {
        openidconnect::RequestTokenError::ServerResponse(response) => {
            let mut text = response.error().to_string();
            if let Some(description) = response.error_description() {
                text.push_str(&format!(" ({description})"));
            }
            text
        }
        other => words(other),
    }
}

/// The verification failure in words a person (and an auditor) can follow.
fn verification_words(error: &ClaimsVerificationError) -> String {
    match error {
        ClaimsVerificationError::Expired(_) => "it has expired".to_owned(),
        ClaimsVerificationError::InvalidAudience(_) => {
            "it was issued for another application (audience)".to_owned()
        }
        ClaimsVerificationError::InvalidIssuer(_) => {
            "it was issued by another provider (issuer)".to_owned()
        }
        ClaimsVerificationError::InvalidNonce(_) => {
            "it does not belong to this sign-in (nonce mismatch)".to_owned()
        }
        ClaimsVerificationError::SignatureVerification(_) => {
            "its signature does not verify with the provider's keys".to_owned()
        }
        other => other.to_string(),
    }
}
