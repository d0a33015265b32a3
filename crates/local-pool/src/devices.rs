//! Device tracking: NewDeviceMetadata, ConfirmDevice, the device operations,
//! and the DEVICE_SRP_AUTH / DEVICE_PASSWORD_VERIFIER round verified with
//! srp-core's server half. A remembered device skips MFA when the pool's
//! `ChallengeRequiredOnNewDevice` is true.

use std::collections::BTreeMap;

use cognito_wire::cognito_idp::{self as idp, ChallengeNameType};
use cognito_wire::{EpochSeconds, ErrorCode, challenge::keys};
use zeroize::Zeroizing;

use crate::auth::Outcome;
use crate::engine::{Engine, Fail, OpResult, base64url, random_bytes, uuid_v4};
use crate::state::{AuthSession, Device, Step, User};

fn no_device() -> Fail {
    Fail::new(ErrorCode::ResourceNotFoundException, "Device does not exist.")
}

impl Engine {
    fn tracks_devices(&self, pool_id: &str) -> OpResult<Option<idp::DeviceConfigurationType>> {
        let state = self.lock();
        Ok(Engine::pool(&state, pool_id)?.config.device_configuration.clone())
    }

    /// The device key to record with new tokens, and the NewDeviceMetadata
    /// to return: a known device keeps its key; otherwise a pool that tracks
    /// devices issues a new one.
    pub(crate) fn device_for_tokens(
        &self,
        pool_id: &str,
        user_key: &str,
        presented: Option<&str>,
    ) -> OpResult<(Option<String>, Option<idp::NewDeviceMetadataType>)> {
        if self.tracks_devices(pool_id)?.is_none() {
            return Ok((None, None));
        }
        let now = self.now();
        let mut state = self.lock();
        let user = Engine::pool_mut(&mut state, pool_id)?.users.get_mut(user_key).ok_or_else(Fail::no_user)?;
        if let Some(key) = presented.filter(|k| user.devices.contains_key(*k)) {
            if let Some(d) = user.devices.get_mut(key) {
                d.last_authenticated = now;
            }
            return Ok((Some(key.to_owned()), None));
        }
        let region = pool_id.split('_').next().unwrap_or("us-east-1");
        let key = format!("{region}_{}", uuid_v4());
        let group =
            user.device_group_key.get_or_insert_with(|| format!("-{}", base64url(&random_bytes::<6>()))).clone();
        user.devices.insert(
            key.clone(),
            Device {
                group_key: group.clone(),
                name: None,
                salt_hex: None,
                verifier: None,
                remembered: false,
                created: now,
                modified: now,
                last_authenticated: now,
            },
        );
        drop(state);
        self.mark_dirty();
        Ok((
            Some(key.clone()),
            Some(idp::NewDeviceMetadataType {
                device_key: Some(key),
                device_group_key: Some(group),
                ..Default::default()
            }),
        ))
    }

    /// After a correct password with `DEVICE_KEY`: DEVICE_SRP_AUTH when the
    /// device is confirmed.
    pub(crate) fn device_step(
        &self,
        pool_id: &str,
        client_id: &str,
        key: &str,
        user: &User,
        device_key: Option<&str>,
        skip_mfa: bool,
    ) -> OpResult<Option<Outcome>> {
        let Some(device_key) = device_key else { return Ok(None) };
        match user.devices.get(device_key) {
            // Cognito refuses a device key it does not know ("Device does
            // not exist."); clients then forget it and sign in again.
            None if self.tracks_devices(pool_id)?.is_some() => return Err(no_device()),
            Some(d) if d.verifier.is_some() => {}
            _ => return Ok(None),
        }
        let session = self.new_session(
            pool_id,
            client_id,
            key,
            Step::DeviceSrpAuth { device_key: device_key.to_owned(), skip_mfa },
        );
        let mut params = BTreeMap::new();
        params.insert(keys::USERNAME.to_owned(), user.username.clone());
        params.insert(keys::DEVICE_KEY.to_owned(), device_key.to_owned());
        Ok(Some(Outcome {
            challenge_name: Some(ChallengeNameType::DeviceSrpAuth),
            challenge_parameters: params,
            session: Some(session),
            result: None,
            available: None,
        }))
    }

    pub(crate) fn answer_device(
        &self,
        auth: AuthSession,
        challenge: &ChallengeNameType,
        responses: &BTreeMap<String, String>,
        user: User,
    ) -> OpResult<Outcome> {
        let AuthSession { pool_id, client_id, user_key, expires, step } = auth;
        match (challenge, step) {
            (ChallengeNameType::DeviceSrpAuth, Step::DeviceSrpAuth { device_key, skip_mfa }) => {
                if responses.get(keys::DEVICE_KEY) != Some(&device_key) {
                    return Err(Fail::not_authorized("Incorrect device key."));
                }
                let srp_a =
                    responses.get(keys::SRP_A).ok_or_else(|| Fail::invalid("Missing required parameter SRP_A"))?;
                srp_core::PublicValue::from_hex(srp_core::Field::SrpA, srp_a)
                    .map_err(|_| Fail::invalid("Invalid SRP_A value"))?;
                let device = user.devices.get(&device_key).ok_or_else(no_device)?;
                let (Some(salt), Some(verifier)) = (&device.salt_hex, &device.verifier) else {
                    return Err(no_device());
                };
                let v = srp_core::PublicValue::from_be_bytes(srp_core::Field::Verifier, verifier)
                    .map_err(|_| Fail::internal("stored device verifier is corrupt"))?;
                let random = Zeroizing::new(random_bytes::<32>());
                let server =
                    srp_core::ServerEphemeral::from_random(&*random, &v).map_err(|e| Fail::internal(e.to_string()))?;
                let secret_block = Zeroizing::new(base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    random_bytes::<64>(),
                ));
                let mut params = BTreeMap::new();
                params.insert(keys::SRP_B.to_owned(), server.srp_b().as_str().to_owned());
                params.insert(keys::SALT.to_owned(), salt.clone());
                params.insert(keys::SECRET_BLOCK.to_owned(), secret_block.to_string());
                params.insert(keys::USERNAME.to_owned(), user.username.clone());
                params.insert(keys::DEVICE_KEY.to_owned(), device_key.clone());
                let step = Step::DevicePasswordVerifier {
                    server: Box::new(server),
                    srp_a: srp_a.clone(),
                    secret_block,
                    device_key,
                    skip_mfa,
                };
                let session = self.new_session(&pool_id, &client_id, &user_key, step);
                let _ = expires;
                Ok(Outcome {
                    challenge_name: Some(ChallengeNameType::DevicePasswordVerifier),
                    challenge_parameters: params,
                    session: Some(session),
                    result: None,
                    available: None,
                })
            }
            (
                ChallengeNameType::DevicePasswordVerifier,
                Step::DevicePasswordVerifier { server, srp_a, secret_block, device_key, skip_mfa },
            ) => {
                let get = |k: &str| {
                    responses
                        .get(k)
                        .map(String::as_str)
                        .ok_or_else(|| Fail::invalid(format!("Missing required parameter {k}")))
                };
                let (timestamp, signature, block) = (
                    get(keys::TIMESTAMP)?,
                    get(keys::PASSWORD_CLAIM_SIGNATURE)?,
                    get(keys::PASSWORD_CLAIM_SECRET_BLOCK)?,
                );
                if *block != **secret_block {
                    return Err(Fail::not_authorized("Incorrect username or password."));
                }
                let device = user.devices.get(&device_key).ok_or_else(no_device)?;
                let verifier = device.verifier.as_ref().ok_or_else(no_device)?;
                let v = srp_core::PublicValue::from_be_bytes(srp_core::Field::Verifier, verifier)
                    .map_err(|_| Fail::internal("stored device verifier is corrupt"))?;
                let identity = srp_core::PublicIdentity::device(&device.group_key, &device_key)
                    .map_err(|e| Fail::internal(e.to_string()))?;
                match server.verify(identity, &v, &srp_a, block, timestamp, signature) {
                    Ok(_) => {}
                    Err(srp_core::Error::SignatureMismatch) => {
                        return Err(Fail::not_authorized("Incorrect username or password."));
                    }
                    Err(e) => return Err(Fail::invalid(format!("Invalid challenge response: {e}"))),
                }
                // A remembered device skips MFA, when the pool says so
                // (`ChallengeRequiredOnNewDevice`: "a remembered device can
                // sign in with device authentication instead of MFA").
                let device_replaces_mfa = device.remembered
                    && self.tracks_devices(&pool_id)?.and_then(|c| c.challenge_required_on_new_device) == Some(true);
                if !device_replaces_mfa
                    && !skip_mfa
                    && let Some(step) = self.mfa_step(&pool_id, &client_id, &user_key, &user)?
                {
                    return Ok(step);
                }
                let result = self.issue_tokens(&pool_id, &client_id, &user_key, self.now(), Some(&device_key))?;
                Ok(Outcome {
                    challenge_name: None,
                    challenge_parameters: BTreeMap::new(),
                    session: None,
                    result: Some(result),
                    available: None,
                })
            }
            (other, _) => Err(Fail::invalid(format!("Challenge {other} is not the one pending for this session"))),
        }
    }

    fn with_device<T>(
        &self,
        pool_id: &str,
        user_key: &str,
        device_key: &str,
        f: impl FnOnce(&mut Device, bool) -> OpResult<T>,
    ) -> OpResult<T> {
        let only_on_prompt =
            self.tracks_devices(pool_id)?.and_then(|c| c.device_only_remembered_on_user_prompt).unwrap_or(false);
        let mut state = self.lock();
        let user = Engine::pool_mut(&mut state, pool_id)?.users.get_mut(user_key).ok_or_else(Fail::no_user)?;
        let device = user.devices.get_mut(device_key).ok_or_else(no_device)?;
        let out = f(device, only_on_prompt)?;
        device.modified = self.now();
        drop(state);
        self.mark_dirty();
        Ok(out)
    }

    pub(crate) fn confirm_device(&self, input: idp::ConfirmDeviceRequest) -> OpResult<idp::ConfirmDeviceResponse> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        let config = input.device_secret_verifier_config.clone().unwrap_or_default();
        let (salt, verifier) = (config.salt.unwrap_or_default(), config.password_verifier.unwrap_or_default());
        let (v, salt_hex) = srp_core::decode_device_verifier(&salt, &verifier)
            .map_err(|e| Fail::invalid(format!("Invalid DeviceSecretVerifierConfig: {e}")))?;
        let name = input.device_name.clone();
        let necessary = self.with_device(&pool_id, &key, &input.device_key, |d, only_on_prompt| {
            d.salt_hex = Some(salt_hex.as_str().to_owned());
            d.verifier = Some(v.as_be_bytes().to_vec().into_boxed_slice());
            d.name = name;
            d.remembered = !only_on_prompt;
            Ok(only_on_prompt)
        })?;
        Ok(idp::ConfirmDeviceResponse { user_confirmation_necessary: Some(necessary), ..Default::default() })
    }

    fn set_status(
        &self,
        pool_id: &str,
        key: &str,
        device_key: &str,
        status: Option<&idp::DeviceRememberedStatusType>,
    ) -> OpResult<()> {
        let remembered = match status {
            Some(idp::DeviceRememberedStatusType::Remembered) => true,
            Some(idp::DeviceRememberedStatusType::NotRemembered) | None => false,
            Some(other) => return Err(Fail::invalid(format!("Invalid DeviceRememberedStatus {other}"))),
        };
        self.with_device(pool_id, key, device_key, |d, _| {
            d.remembered = remembered;
            Ok(())
        })
    }

    pub(crate) fn update_device_status(
        &self,
        input: idp::UpdateDeviceStatusRequest,
    ) -> OpResult<idp::UpdateDeviceStatusResponse> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        self.set_status(&pool_id, &key, &input.device_key, input.device_remembered_status.as_ref())?;
        Ok(Default::default())
    }

    fn device_type(key: &str, d: &Device) -> idp::DeviceType {
        let mut attrs = vec![
            idp::AttributeType { name: "device_status".into(), value: Some("valid".into()), ..Default::default() },
            idp::AttributeType {
                name: "dev:device_remembered_status".into(),
                value: Some(if d.remembered { "remembered" } else { "not_remembered" }.into()),
                ..Default::default()
            },
        ];
        if let Some(name) = &d.name {
            attrs.push(idp::AttributeType {
                name: "device_name".into(),
                value: Some(name.as_str().into()),
                ..Default::default()
            });
        }
        idp::DeviceType {
            device_key: Some(key.to_owned()),
            device_attributes: Some(attrs),
            device_create_date: Some(EpochSeconds::from_secs(d.created)),
            device_last_modified_date: Some(EpochSeconds::from_secs(d.modified)),
            device_last_authenticated_date: Some(EpochSeconds::from_secs(d.last_authenticated)),
            ..Default::default()
        }
    }

    fn user_devices(&self, pool_id: &str, key: &str) -> OpResult<Vec<idp::DeviceType>> {
        let state = self.lock();
        let user = Engine::pool(&state, pool_id)?.users.get(key).ok_or_else(Fail::no_user)?;
        Ok(user.devices.iter().filter(|(_, d)| d.verifier.is_some()).map(|(k, d)| Self::device_type(k, d)).collect())
    }

    fn page_devices(
        all: Vec<idp::DeviceType>,
        limit: Option<i32>,
        token: Option<&str>,
    ) -> OpResult<(Vec<idp::DeviceType>, Option<String>)> {
        let start = match token {
            Some(t) => t.parse::<usize>().map_err(|_| Fail::invalid("Invalid pagination token"))?,
            None => 0,
        };
        let limit = limit.map_or(60, |l| l.clamp(1, 60) as usize);
        let end = (start + limit).min(all.len());
        let page = all.get(start..end).map(<[idp::DeviceType]>::to_vec).unwrap_or_default();
        Ok((page, (end < all.len()).then(|| end.to_string())))
    }

    pub(crate) fn list_devices(&self, input: idp::ListDevicesRequest) -> OpResult<idp::ListDevicesResponse> {
        let (pool_id, key) = self.authorize(input.access_token.expose())?;
        let (devices, next) =
            Self::page_devices(self.user_devices(&pool_id, &key)?, input.limit, input.pagination_token.as_deref())?;
        Ok(idp::ListDevicesResponse { devices: Some(devices), pagination_token: next, ..Default::default() })
    }

    pub(crate) fn get_device(&self, input: idp::GetDeviceRequest) -> OpResult<idp::GetDeviceResponse> {
        let token = input.access_token.as_ref().ok_or_else(|| Fail::not_authorized("Missing Authentication Token"))?;
        let (pool_id, key) = self.authorize(token.expose())?;
        let device =
            self.user_devices(&pool_id, &key)?.into_iter().find(|d| d.device_key.as_deref() == Some(&input.device_key));
        Ok(idp::GetDeviceResponse { device: device.ok_or_else(no_device)?, ..Default::default() })
    }

    fn forget(&self, pool_id: &str, key: &str, device_key: &str) -> OpResult<()> {
        let mut state = self.lock();
        let user = Engine::pool_mut(&mut state, pool_id)?.users.get_mut(key).ok_or_else(Fail::no_user)?;
        user.devices.remove(device_key).ok_or_else(no_device)?;
        drop(state);
        self.mark_dirty();
        Ok(())
    }

    pub(crate) fn forget_device(&self, input: idp::ForgetDeviceRequest) -> OpResult<cognito_wire::glue::Empty> {
        let token = input.access_token.as_ref().ok_or_else(|| Fail::not_authorized("Missing Authentication Token"))?;
        let (pool_id, key) = self.authorize(token.expose())?;
        self.forget(&pool_id, &key, &input.device_key)?;
        Ok(Default::default())
    }

    fn admin_key(&self, pool_id: &str, username: &str) -> OpResult<String> {
        let state = self.lock();
        Engine::pool(&state, pool_id)?.find_key(username).ok_or_else(Fail::no_user)
    }

    pub(crate) fn admin_list_devices(
        &self,
        input: idp::AdminListDevicesRequest,
    ) -> OpResult<idp::AdminListDevicesResponse> {
        let key = self.admin_key(&input.user_pool_id, input.username.expose())?;
        let (devices, next) = Self::page_devices(
            self.user_devices(&input.user_pool_id, &key)?,
            input.limit,
            input.pagination_token.as_deref(),
        )?;
        Ok(idp::AdminListDevicesResponse { devices: Some(devices), pagination_token: next, ..Default::default() })
    }

    pub(crate) fn admin_get_device(&self, input: idp::AdminGetDeviceRequest) -> OpResult<idp::AdminGetDeviceResponse> {
        let key = self.admin_key(&input.user_pool_id, input.username.expose())?;
        let device = self
            .user_devices(&input.user_pool_id, &key)?
            .into_iter()
            .find(|d| d.device_key.as_deref() == Some(&input.device_key));
        Ok(idp::AdminGetDeviceResponse { device: device.ok_or_else(no_device)?, ..Default::default() })
    }

    pub(crate) fn admin_forget_device(
        &self,
        input: idp::AdminForgetDeviceRequest,
    ) -> OpResult<cognito_wire::glue::Empty> {
        let key = self.admin_key(&input.user_pool_id, input.username.expose())?;
        self.forget(&input.user_pool_id, &key, &input.device_key)?;
        Ok(Default::default())
    }

    pub(crate) fn admin_update_device_status(
        &self,
        input: idp::AdminUpdateDeviceStatusRequest,
    ) -> OpResult<idp::AdminUpdateDeviceStatusResponse> {
        let key = self.admin_key(&input.user_pool_id, input.username.expose())?;
        self.set_status(&input.user_pool_id, &key, &input.device_key, input.device_remembered_status.as_ref())?;
        Ok(Default::default())
    }
}
