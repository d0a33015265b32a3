//! Endpoint resolution: the region from a pool id, then the service's
//! endpoint rule set (generated from `endpoint-rule-set-1.json`) over the
//! partitions of botocore's `partitions.json`; or a custom endpoint URL,
//! which overrides all of it.
//!
//! ```
//! use cognito_wire::endpoint::{self, EndpointParams};
//! use cognito_wire::Service;
//!
//! assert_eq!(endpoint::region_from_user_pool_id("cn-north-1_AbC123").unwrap(), "cn-north-1");
//! let params = EndpointParams { region: Some("cn-north-1".into()), ..Default::default() };
//! assert_eq!(endpoint::resolve(Service::CognitoIdp, &params).unwrap(), "https://cognito-idp.cn-north-1.amazonaws.com.cn");
//! let local = EndpointParams { endpoint: Some("http://127.0.0.1:9229".into()), ..Default::default() };
//! assert_eq!(endpoint::resolve(Service::CognitoIdp, &local).unwrap(), "http://127.0.0.1:9229");
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crate::Service;
pub use crate::generated::partitions::PARTITIONS;

/// One AWS partition (generated from `partitions.json`).
#[derive(Debug)]
pub struct Partition {
    /// `aws`, `aws-cn`, ...
    pub id: &'static str,
    /// The partition name rules see (`PartitionResult#name`).
    pub name: &'static str,
    /// `amazonaws.com`, `amazonaws.com.cn`, ...
    pub dns_suffix: &'static str,
    /// The dual-stack DNS suffix (`api.aws`, ...).
    pub dual_stack_dns_suffix: &'static str,
    /// Whether FIPS endpoints exist.
    pub supports_fips: bool,
    /// Whether dual-stack endpoints exist.
    pub supports_dual_stack: bool,
    /// The region global endpoints live in.
    pub implicit_global_region: &'static str,
    /// Which region names belong to the partition.
    pub region_regex: &'static str,
    /// The regions listed explicitly.
    pub regions: &'static [&'static str],
}

/// A rule of an endpoint rule set.
#[derive(Debug)]
pub enum Rule {
    /// When the conditions hold, this URL (a template).
    Endpoint {
        /// All must hold.
        conditions: &'static [Condition],
        /// The URL.
        url: Expr,
    },
    /// When the conditions hold, this configuration error.
    Error {
        /// All must hold.
        conditions: &'static [Condition],
        /// The message.
        message: &'static str,
    },
    /// When the conditions hold, the first of these rules that applies.
    Tree {
        /// All must hold.
        conditions: &'static [Condition],
        /// The nested rules.
        rules: &'static [Rule],
    },
}

/// A condition: a function over arguments, optionally binding its result.
#[derive(Debug)]
pub struct Condition {
    /// The function.
    pub function: Function,
    /// Its arguments.
    pub args: &'static [Expr],
    /// The name its result is bound to, if any.
    pub assign: Option<&'static str>,
}

/// The rule-set functions Cognito's rule sets use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `isSet(x)`.
    IsSet,
    /// `aws.partition(region)`.
    Partition,
    /// `booleanEquals(a, b)`.
    BooleanEquals,
    /// `stringEquals(a, b)`.
    StringEquals,
}

/// An expression in a rule.
#[derive(Debug)]
pub enum Expr {
    /// A string, possibly a template with `{Name}` and `{Name#attr}`.
    Str(&'static str),
    /// A boolean literal.
    Bool(bool),
    /// A parameter or bound name.
    Ref(&'static str),
    /// An attribute of a bound partition result.
    GetAttr(&'static str, &'static str),
}

/// The inputs of endpoint resolution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointParams {
    /// The region (`us-east-1`).
    pub region: Option<String>,
    /// Use FIPS endpoints.
    pub use_fips: bool,
    /// Use dual-stack endpoints.
    pub use_dual_stack: bool,
    /// A custom endpoint URL that overrides resolution.
    pub endpoint: Option<String>,
}

/// Endpoint resolution failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointError {
    /// The pool id does not have the form `<region>_<id>` (or `<region>:<uuid>`).
    MalformedPoolId,
    /// The rule set rejected the configuration (its message).
    Rule(String),
    /// The rule set is malformed (a bug in the generated data).
    Internal(&'static str),
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedPoolId => f.write_str("malformed pool id: expected <region>_<id> or <region>:<uuid>"),
            Self::Rule(message) => f.write_str(message),
            Self::Internal(what) => write!(f, "endpoint rule set: {what}"),
        }
    }
}

impl std::error::Error for EndpointError {}

fn valid_region(region: &str) -> bool {
    !region.is_empty() && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The region of a user pool id (`us-east-1_AbC123` → `us-east-1`).
pub fn region_from_user_pool_id(pool_id: &str) -> Result<&str, EndpointError> {
    match pool_id.split_once('_') {
        Some((region, id)) if valid_region(region) && !id.is_empty() => Ok(region),
        _ => Err(EndpointError::MalformedPoolId),
    }
}

/// The region of an identity pool id (`us-east-1:1b2c...` → `us-east-1`).
pub fn region_from_identity_pool_id(pool_id: &str) -> Result<&str, EndpointError> {
    match pool_id.split_once(':') {
        Some((region, id)) if valid_region(region) && !id.is_empty() => Ok(region),
        _ => Err(EndpointError::MalformedPoolId),
    }
}

/// The `cognito-idp` endpoint for a user pool, or `custom` when given.
pub fn user_pool_endpoint(pool_id: &str, custom: Option<&str>) -> Result<String, EndpointError> {
    if let Some(custom) = custom {
        return Ok(custom.to_owned());
    }
    let region = region_from_user_pool_id(pool_id)?;
    resolve(Service::CognitoIdp, &EndpointParams { region: Some(region.to_owned()), ..Default::default() })
}

/// The partition a region belongs to: listed explicitly, else matching the
/// partition's region pattern, else `aws` (the Smithy rule).
pub fn partition_of(region: &str) -> &'static Partition {
    PARTITIONS
        .iter()
        .find(|p| p.regions.contains(&region))
        .or_else(|| {
            PARTITIONS.iter().find(|p| regex_lite::Regex::new(p.region_regex).is_ok_and(|re| re.is_match(region)))
        })
        .or_else(|| PARTITIONS.iter().find(|p| p.id == "aws"))
        .unwrap_or(&PARTITIONS[0])
}

/// Resolves the endpoint URL of `service` by its rule set.
pub fn resolve(service: Service, params: &EndpointParams) -> Result<String, EndpointError> {
    let rules = match service {
        Service::CognitoIdp => crate::cognito_idp::ENDPOINT_RULES,
        Service::CognitoIdentity => crate::cognito_identity::ENDPOINT_RULES,
    };
    let mut scope = Scope { params, partitions: BTreeMap::new() };
    match eval_rules(rules, &mut scope)? {
        Some(url) => Ok(url),
        None => Err(EndpointError::Internal("no rule matched")),
    }
}

/// Values a rule can see.
#[derive(Clone)]
enum Val {
    Str(String),
    Bool(bool),
    Partition(&'static Partition),
    Unset,
}

struct Scope<'a> {
    params: &'a EndpointParams,
    partitions: BTreeMap<&'static str, &'static Partition>,
}

impl Scope<'_> {
    fn lookup(&self, name: &str) -> Val {
        match name {
            "Region" => self.params.region.clone().map_or(Val::Unset, Val::Str),
            "Endpoint" => self.params.endpoint.clone().map_or(Val::Unset, Val::Str),
            "UseFIPS" => Val::Bool(self.params.use_fips),
            "UseDualStack" => Val::Bool(self.params.use_dual_stack),
            other => self.partitions.get(other).map_or(Val::Unset, |p| Val::Partition(p)),
        }
    }

    fn attr(&self, target: &str, attr: &str) -> Result<Val, EndpointError> {
        let Val::Partition(p) = self.lookup(target) else {
            return Err(EndpointError::Internal("getAttr on something that is not a partition"));
        };
        Ok(match attr {
            "name" => Val::Str(p.name.to_owned()),
            "dnsSuffix" => Val::Str(p.dns_suffix.to_owned()),
            "dualStackDnsSuffix" => Val::Str(p.dual_stack_dns_suffix.to_owned()),
            "supportsFIPS" => Val::Bool(p.supports_fips),
            "supportsDualStack" => Val::Bool(p.supports_dual_stack),
            "implicitGlobalRegion" => Val::Str(p.implicit_global_region.to_owned()),
            _ => return Err(EndpointError::Internal("unknown partition attribute")),
        })
    }

    fn eval(&self, expr: &Expr) -> Result<Val, EndpointError> {
        Ok(match expr {
            Expr::Str(template) => Val::Str(self.template(template)?),
            Expr::Bool(b) => Val::Bool(*b),
            Expr::Ref(name) => self.lookup(name),
            Expr::GetAttr(target, attr) => self.attr(target, attr)?,
        })
    }

    /// Expands `{Name}` and `{Name#attr}` in a string.
    fn template(&self, template: &str) -> Result<String, EndpointError> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').ok_or(EndpointError::Internal("unterminated template"))? + start;
            let inner = &rest[start + 1..end];
            let value = match inner.split_once('#') {
                Some((target, attr)) => self.attr(target, attr)?,
                None => self.lookup(inner),
            };
            match value {
                Val::Str(s) => out.push_str(&s),
                _ => return Err(EndpointError::Internal("template value is not a string")),
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Evaluates the conditions in order, binding results; false if any fails.
    fn conditions(&mut self, conditions: &'static [Condition]) -> Result<bool, EndpointError> {
        for condition in conditions {
            let args = condition.args.iter().map(|a| self.eval(a)).collect::<Result<Vec<_>, _>>()?;
            let holds = match (condition.function, args.as_slice()) {
                (Function::IsSet, [v]) => !matches!(v, Val::Unset),
                (Function::Partition, [Val::Str(region)]) => {
                    let partition = partition_of(region);
                    if let Some(name) = condition.assign {
                        self.partitions.insert(name, partition);
                    }
                    true
                }
                (Function::Partition, [_]) => false,
                (Function::BooleanEquals, [Val::Bool(a), Val::Bool(b)]) => a == b,
                (Function::StringEquals, [Val::Str(a), Val::Str(b)]) => a == b,
                (Function::BooleanEquals | Function::StringEquals, [_, _]) => false,
                _ => return Err(EndpointError::Internal("wrong number of arguments")),
            };
            if !holds {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn eval_rules(rules: &'static [Rule], scope: &mut Scope<'_>) -> Result<Option<String>, EndpointError> {
    for rule in rules {
        match rule {
            Rule::Endpoint { conditions, url } => {
                if scope.conditions(conditions)? {
                    return match scope.eval(url)? {
                        Val::Str(url) => Ok(Some(url)),
                        _ => Err(EndpointError::Internal("endpoint URL is not a string")),
                    };
                }
            }
            Rule::Error { conditions, message } => {
                if scope.conditions(conditions)? {
                    return Err(EndpointError::Rule((*message).to_owned()));
                }
            }
            Rule::Tree { conditions, rules } => {
                if scope.conditions(conditions)? {
                    // A tree whose conditions hold is terminal (Smithy rules semantics).
                    return match eval_rules(rules, scope)? {
                        Some(url) => Ok(Some(url)),
                        None => Err(EndpointError::Internal("tree rule matched nothing")),
                    };
                }
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_idp(region: &str, fips: bool, dual: bool) -> Result<String, EndpointError> {
        resolve(
            Service::CognitoIdp,
            &EndpointParams { region: Some(region.into()), use_fips: fips, use_dual_stack: dual, endpoint: None },
        )
    }

    #[test]
    fn regions_and_partitions() {
        assert_eq!(resolve_idp("us-east-1", false, false).unwrap(), "https://cognito-idp.us-east-1.amazonaws.com");
        assert_eq!(
            resolve_idp("eu-central-2", false, false).unwrap(),
            "https://cognito-idp.eu-central-2.amazonaws.com"
        );
        assert_eq!(
            resolve_idp("cn-northwest-1", false, false).unwrap(),
            "https://cognito-idp.cn-northwest-1.amazonaws.com.cn"
        );
        assert_eq!(
            resolve_idp("us-gov-west-1", false, false).unwrap(),
            "https://cognito-idp.us-gov-west-1.amazonaws.com"
        );
        // A region no list has yet still resolves through its partition's pattern.
        assert_eq!(resolve_idp("cn-south-9", false, false).unwrap(), "https://cognito-idp.cn-south-9.amazonaws.com.cn");
        assert_eq!(
            resolve(
                Service::CognitoIdentity,
                &EndpointParams { region: Some("ap-south-1".into()), ..Default::default() }
            )
            .unwrap(),
            "https://cognito-identity.ap-south-1.amazonaws.com"
        );
    }

    #[test]
    fn fips_and_dual_stack() {
        assert_eq!(resolve_idp("us-east-1", true, false).unwrap(), "https://cognito-idp-fips.us-east-1.amazonaws.com");
        assert_eq!(resolve_idp("us-east-1", false, true).unwrap(), "https://cognito-idp.us-east-1.amazonaws.com");
        // Cognito's rule set keeps amazonaws.com for dual-stack in the aws
        // partition (its endpoints are dual-stack already); others use the
        // partition's dual-stack suffix.
        assert_eq!(resolve_idp("eu-west-1", false, true).unwrap(), "https://cognito-idp.eu-west-1.amazonaws.com");
        assert_eq!(
            resolve_idp("cn-north-1", false, true).unwrap(),
            "https://cognito-idp.cn-north-1.api.amazonwebservices.com.cn"
        );
        assert_eq!(resolve_idp("eu-west-1", true, false).unwrap(), "https://cognito-idp-fips.eu-west-1.amazonaws.com");
    }

    #[test]
    fn configuration_errors() {
        assert!(
            matches!(resolve(Service::CognitoIdp, &EndpointParams::default()), Err(EndpointError::Rule(m)) if m.contains("Missing Region"))
        );
        let custom_fips = EndpointParams { endpoint: Some("http://x".into()), use_fips: true, ..Default::default() };
        assert!(matches!(resolve(Service::CognitoIdp, &custom_fips), Err(EndpointError::Rule(_))));
    }

    #[test]
    fn pool_ids() {
        assert_eq!(region_from_user_pool_id("us-east-1_abc").unwrap(), "us-east-1");
        assert_eq!(region_from_identity_pool_id("eu-west-2:0000-1111").unwrap(), "eu-west-2");
        for bad in ["", "_abc", "us-east-1_", "noseparator", "US-EAST-1_abc", "us east_1"] {
            assert_eq!(region_from_user_pool_id(bad), Err(EndpointError::MalformedPoolId), "{bad}");
        }
        assert_eq!(user_pool_endpoint("garbage", Some("http://127.0.0.1:1")).unwrap(), "http://127.0.0.1:1");
        assert!(user_pool_endpoint("garbage", None).is_err());
    }
}
