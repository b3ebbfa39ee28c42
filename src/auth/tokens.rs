//! Tokens Liaison mints and verifies with its own key, and tokens of external identity providers
//! verified with their JWKS. The issuer decides which key applies; `alg: none`, algorithm
//! confusion and unknown `kid`s are refused.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use super::jwks::JwksKeys;
use super::verified::VerifiedTokens;
use crate::config::{Config, IdentityProvider};
use crate::domain::ids::{AccountId, UserId};
use crate::domain::operator::{OperatorName, OperatorScopes};
use crate::domain::permission::ScopeSet;

/// Why a token was refused. The text is safe to show: it names no key or secret.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's algorithm is not accepted for its issuer")]
    WrongAlgorithm,
    #[error("the token's key id is unknown")]
    UnknownKey,
    #[error("the token's issuer is not trusted")]
    UnknownIssuer,
    #[error("the token's audience is not accepted")]
    WrongAudience,
    #[error("the token's claims are incomplete or invalid: {0}")]
    BadClaims(&'static str),
    #[error("the token's scope claim is invalid")]
    BadScopes,
    #[error("the identity provider's keys could not be loaded")]
    KeysUnavailable,
}

impl From<jsonwebtoken::errors::Error> for TokenError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                TokenError::WrongAlgorithm
            }
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            ErrorKind::InvalidIssuer => TokenError::UnknownIssuer,
            ErrorKind::MissingRequiredClaim(_) => {
                TokenError::BadClaims("a required claim is missing")
            }
            _ => TokenError::Malformed,
        }
    }
}

/// What kind of principal a verified token names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    User,
    Operator,
    Invitee,
}

/// The audience of invitee sessions: never accepted on the main API.
pub const INVITEE_AUDIENCE: &str = "liaison-invitee";

/// A verified token's meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    User {
        user_id: UserId,
        account_id: AccountId,
        scopes: ScopeSet,
    },
    Operator {
        name: String,
        scopes: OperatorScopes,
    },
    Invitee {
        subject: String,
        account_id: AccountId,
    },
}

#[derive(Debug, Serialize)]
struct OwnClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    acc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    kind: TokenKind,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
}

/// What to put in a token Liaison mints.
#[derive(Clone, Debug)]
pub struct MintRequest {
    pub kind: TokenKind,
    pub subject: String,
    pub account_id: Option<AccountId>,
    pub scopes: ScopeSet,
    pub ttl: Duration,
}

/// Liaison's own signing key.
struct OwnKey {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl OwnKey {
    fn hs256(secret: &SecretString) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        Self {
            algorithm: Algorithm::HS256,
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
        }
    }

    fn from_pem_files(private: &Path, public: &Path) -> Result<Self, String> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let (private, public) = (read(private)?, read(public)?);
        if let (Ok(encoding), Ok(decoding)) = (
            EncodingKey::from_rsa_pem(&private),
            DecodingKey::from_rsa_pem(&public),
        ) {
            return Ok(Self {
                algorithm: Algorithm::RS256,
                encoding,
                decoding,
            });
        }
        match (
            EncodingKey::from_ec_pem(&private),
            DecodingKey::from_ec_pem(&public),
        ) {
            (Ok(encoding), Ok(decoding)) => Ok(Self {
                algorithm: Algorithm::ES256,
                encoding,
                decoding,
            }),
            _ => Err("the JWT key files are neither an RSA nor an EC P-256 PEM pair".into()),
        }
    }
}

/// An external identity provider and its keys.
struct Provider {
    config: IdentityProvider,
    keys: JwksKeys,
}

/// Mints Liaison's tokens and verifies every accepted token.
pub struct Tokens {
    own: OwnKey,
    issuer: String,
    audience: String,
    leeway: u64,
    providers: Vec<Provider>,
    /// Own tokens verified recently.
    verified: VerifiedTokens,
}

impl Tokens {
    /// `dev_secret` is used when no key is configured (development only; `Config::check` refuses
    /// production without a key).
    pub fn from_config(config: &Config, dev_secret: Option<SecretString>) -> Result<Self, String> {
        let own = match (
            &config.jwt_secret,
            &config.jwt_private_key_file,
            &config.jwt_public_key_file,
        ) {
            (Some(secret), _, _) => OwnKey::hs256(secret),
            (None, Some(private), Some(public)) => OwnKey::from_pem_files(private, public)?,
            _ => OwnKey::hs256(
                dev_secret
                    .as_ref()
                    .ok_or("no JWT signing key is configured")?,
            ),
        };
        let providers = config
            .identity_providers
            .iter()
            .map(|provider| {
                Ok(Provider {
                    keys: JwksKeys::from_config(provider)?,
                    config: provider.clone(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self {
            own,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            leeway: config.jwt_leeway_seconds,
            providers,
            verified: VerifiedTokens::new(config.jwt_leeway_seconds),
        })
    }

    /// Signs a token with Liaison's own key.
    pub fn mint(&self, request: &MintRequest, now: DateTime<Utc>) -> Result<String, TokenError> {
        self.sign(request, request.scopes.to_claim(), now)
    }

    /// Signs a platform operator's token: no account, operator scopes (none: every right).
    pub fn mint_operator(
        &self,
        name: &OperatorName,
        scopes: &OperatorScopes,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<String, TokenError> {
        let request = MintRequest {
            kind: TokenKind::Operator,
            subject: name.as_str().to_owned(),
            account_id: None,
            scopes: ScopeSet::unrestricted(),
            ttl,
        };
        self.sign(&request, scopes.to_claim(), now)
    }

    fn sign(
        &self,
        request: &MintRequest,
        scope: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<String, TokenError> {
        let audience = match request.kind {
            TokenKind::Invitee => INVITEE_AUDIENCE,
            _ => self.audience.as_str(),
        };
        let claims = OwnClaims {
            iss: &self.issuer,
            aud: audience,
            sub: request.subject.clone(),
            acc: request.account_id.map(|id| id.to_string()),
            scope,
            kind: request.kind,
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + request.ttl).timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(
            &Header::new(self.own.algorithm),
            &claims,
            &self.own.encoding,
        )
        .map_err(|_| TokenError::Malformed)
    }

    /// Verifies a token for the main API (`audience` = Liaison's) or the invitee route.
    pub async fn verify(&self, token: &str, invitee_route: bool) -> Result<Subject, TokenError> {
        if let Some(subject) = self.verified.get(token, invitee_route) {
            return Ok(subject);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let unverified: UnverifiedIssuer = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| TokenError::Malformed)?;
        let issuer = unverified
            .iss
            .as_ref()
            .and_then(Value::as_str)
            .ok_or(TokenError::BadClaims("`iss` is missing"))?;

        if issuer == self.issuer {
            if header.alg != self.own.algorithm {
                return Err(TokenError::WrongAlgorithm);
            }
            let audience = if invitee_route {
                INVITEE_AUDIENCE
            } else {
                self.audience.as_str()
            };
            let claims = self.decode(token, &self.own.decoding, header.alg, Some(audience))?;
            let subject = own_subject(&claims, invitee_route)?;
            if let Some(expires) = claims.get("exp").and_then(Value::as_u64) {
                self.verified.put(token, invitee_route, &subject, expires);
            }
            return Ok(subject);
        }
        if invitee_route {
            return Err(TokenError::UnknownIssuer);
        }
        let provider = self
            .providers
            .iter()
            .find(|provider| provider.config.issuer == issuer)
            .ok_or(TokenError::UnknownIssuer)?;
        if !matches!(
            header.alg.family(),
            AlgorithmFamily::Rsa | AlgorithmFamily::Ec | AlgorithmFamily::Ed
        ) {
            return Err(TokenError::WrongAlgorithm);
        }
        let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
        let key = provider.keys.key(kid).await?;
        if key.family() != header.alg.family() {
            return Err(TokenError::WrongAlgorithm);
        }
        let claims = self.decode(token, &key, header.alg, provider.config.audience.as_deref())?;
        provider_subject(&provider.config, &claims)
    }

    fn decode(
        &self,
        token: &str,
        key: &DecodingKey,
        algorithm: Algorithm,
        audience: Option<&str>,
    ) -> Result<BTreeMap<String, Value>, TokenError> {
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        match audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        Ok(jsonwebtoken::decode::<BTreeMap<String, Value>>(token, key, &validation)?.claims)
    }
}

/// The one claim read before the signature is checked: it names the key that checks it. The
/// other claims are read once, from the verified token.
#[derive(serde::Deserialize)]
struct UnverifiedIssuer {
    iss: Option<Value>,
}

fn claim<'a>(claims: &'a BTreeMap<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

fn scopes(claims: &BTreeMap<String, Value>) -> Result<ScopeSet, TokenError> {
    match claim(claims, "scope") {
        Some(scope) => ScopeSet::parse(scope).map_err(|_| TokenError::BadScopes),
        None => Ok(ScopeSet::unrestricted()),
    }
}

fn own_subject(
    claims: &BTreeMap<String, Value>,
    invitee_route: bool,
) -> Result<Subject, TokenError> {
    let kind: TokenKind = claims
        .get("kind")
        .cloned()
        .and_then(|kind| serde_json::from_value(kind).ok())
        .ok_or(TokenError::BadClaims("`kind` is missing"))?;
    let subject = claim(claims, "sub").ok_or(TokenError::BadClaims("`sub` is missing"))?;
    let account = || {
        claim(claims, "acc")
            .and_then(|acc| acc.parse::<AccountId>().ok())
            .ok_or(TokenError::BadClaims(
                "`acc` is missing or not an account id",
            ))
    };
    match (kind, invitee_route) {
        (TokenKind::Invitee, true) => Ok(Subject::Invitee {
            subject: subject.to_owned(),
            account_id: account()?,
        }),
        (TokenKind::Invitee, false) | (_, true) => Err(TokenError::WrongAudience),
        (TokenKind::User, false) => Ok(Subject::User {
            user_id: subject
                .parse()
                .map_err(|_| TokenError::BadClaims("`sub` is not a user id"))?,
            account_id: account()?,
            scopes: scopes(claims)?,
        }),
        (TokenKind::Operator, false) => Ok(Subject::Operator {
            name: OperatorName::parse(subject)
                .map_err(|_| TokenError::BadClaims("`sub` is not an operator name"))?
                .as_str()
                .to_owned(),
            scopes: match claim(claims, "scope") {
                Some(scope) => OperatorScopes::parse(scope).map_err(|_| TokenError::BadScopes)?,
                None => OperatorScopes::unrestricted(),
            },
        }),
    }
}

fn provider_subject(
    provider: &IdentityProvider,
    claims: &BTreeMap<String, Value>,
) -> Result<Subject, TokenError> {
    let user_id = claim(claims, &provider.user_id_claim)
        .and_then(|id| id.parse::<UserId>().ok())
        .ok_or(TokenError::BadClaims(
            "the user id claim is missing or invalid",
        ))?;
    let account_id = claim(claims, &provider.account_id_claim)
        .and_then(|id| id.parse::<AccountId>().ok())
        .ok_or(TokenError::BadClaims(
            "the account id claim is missing or invalid",
        ))?;
    Ok(Subject::User {
        user_id,
        account_id,
        scopes: scopes(claims)?,
    })
}
