//! An instance-based event hub in the shape of Amplify's `Hub`: named
//! channels, listeners that stop when their handle is dropped, async streams,
//! protected channels, and typed `auth` events with Amplify's names.
//!
//! * [`Hub::listen`] registers a callback and returns a [`ListenerHandle`];
//!   dropping it (or [`ListenerHandle::remove`]) unsubscribes.
//! * [`Hub::subscribe`] gives a [`HubStream`] (a `futures_core::Stream`)
//!   whose bounded queue never makes the dispatcher wait.
//! * [`Hub::dispatch`] only queues the event: callbacks run on a small pool
//!   of worker threads, each listener in dispatch order, so a slow or
//!   panicking listener delays or breaks neither the dispatcher nor the other
//!   listeners. [`Hub::flush`] waits until everything dispatched so far has
//!   been delivered. See [`Hub`] for the exact guarantees.
//! * The channels Amplify protects ([`PROTECTED_CHANNELS`]: `auth`, `core`,
//!   ...) refuse [`Hub::dispatch`] with [`HubError::ProtectedChannel`];
//!   Amplify only logs a warning. The `auth` channel takes
//!   [`Hub::dispatch_auth`] with the [`AuthChannelKey`] that only the hub's
//!   creator (the auth crate) gets from [`Hub::new_with_auth_key`].
//! * [`AuthEvent`] has Amplify JS's events (`signedIn`, `signedOut`,
//!   `tokenRefresh`, `tokenRefresh_failure`, `signInWithRedirect`,
//!   `signInWithRedirect_failure`, `customOAuthState`), amplify-swift's
//!   `sessionExpired` and `userDeleted`, and the native libraries'
//!   federation events (`federatedToIdentityPool`,
//!   `federationToIdentityPoolCleared`), with Amplify's payload shapes.
//!
//! # Example
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use hub_events::{AuthEvent, AuthUser, Hub, HubError, HubPayload};
//!
//! // The auth crate creates the hub and keeps the key.
//! let (hub, auth_key) = Hub::new_with_auth_key();
//!
//! // The application listens.
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let log = seen.clone();
//! let handle = hub.listen_auth(move |event| log.lock().unwrap().push(event.as_str()));
//!
//! let user = AuthUser { username: "alice".into(), user_id: "sub-1".into(), sign_in_details: None };
//! hub.dispatch_auth(&auth_key, &AuthEvent::SignedIn(user))?;
//! hub.dispatch_auth(&auth_key, &AuthEvent::TokenRefresh)?;
//! hub.flush(); // delivery is asynchronous: wait for it
//!
//! // Anyone else is refused on protected channels, but free on their own.
//! assert!(matches!(hub.dispatch("auth", HubPayload::new("signedOut")), Err(HubError::ProtectedChannel { .. })));
//! hub.dispatch("my-app", HubPayload::new("anything"))?;
//!
//! handle.remove(); // or drop it
//! hub.dispatch_auth(&auth_key, &AuthEvent::SignedOut)?;
//! hub.flush();
//! assert_eq!(*seen.lock().unwrap(), ["signedIn", "tokenRefresh"]);
//! # Ok::<(), HubError>(())
//! ```
//!
//! # Differences from Amplify JS
//!
//! | | Amplify JS | here |
//! |---|---|---|
//! | instance | a global `Hub` | any number of [`Hub`]s, cloneable |
//! | protected channel without the symbol | warning, delivered | [`HubError::ProtectedChannel`], not delivered |
//! | unsubscribe | call the returned function | drop or remove the handle |
//! | delivery | synchronous, in registration order, on the dispatching thread | queued; callbacks run on worker threads, each listener in dispatch order, listeners in parallel |
//! | slow or throwing listener | delays the dispatcher and the later listeners | delays only itself; panics are caught and counted |
//! | event dispatched from a listener | delivered at once, ahead of the outer event for later listeners | queued, delivered after the outer event |
//! | waiting for delivery | not needed | [`Hub::flush`], [`Hub::flush_timeout`], [`Hub::flush_async`] |
//! | async consumption | none | [`HubStream`] with a bounded queue |
//! | `sessionExpired`, `userDeleted` | no (Swift only) | yes |
//! | `federatedToIdentityPool`, `federationToIdentityPoolCleared` | no (Swift and Android only) | yes |

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod auth;
mod delivery;
mod hub;
mod stream;

pub use auth::{AuthChannelKey, AuthEvent, AuthEventError, AuthEventParseError, AuthSignInDetails, AuthUser};
pub use hub::{AUTH_CHANNEL, Hub, HubCapsule, HubError, HubPayload, ListenerHandle, PROTECTED_CHANNELS, is_protected};
pub use stream::HubStream;
