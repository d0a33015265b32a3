//! The [`Hub`]: named channels, listeners, dispatch.

use core::fmt;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::{AuthChannelKey, AuthEvent};
use crate::stream::{HubStream, StreamSender};

/// The channel of authentication events.
pub const AUTH_CHANNEL: &str = "auth";

/// Amplify's protected channels (`{core}/Hub/index.ts`). Amplify only logs a
/// warning when someone else dispatches on them; [`Hub::dispatch`] refuses.
pub const PROTECTED_CHANNELS: [&str; 9] =
    ["core", "auth", "api", "analytics", "interactions", "pubsub", "storage", "ui", "xr"];

/// Whether `channel` is one of [`PROTECTED_CHANNELS`] (case-sensitive, as in
/// Amplify).
#[must_use]
pub fn is_protected(channel: &str) -> bool {
    PROTECTED_CHANNELS.contains(&channel)
}

/// What is dispatched: Amplify's `HubPayload` (`{event, data?, message?}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HubPayload {
    /// The event name, e.g. `signedIn`.
    pub event: String,
    /// Event data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl HubPayload {
    /// A payload with only an event name.
    #[must_use]
    pub fn new(event: impl Into<String>) -> Self {
        Self { event: event.into(), data: None, message: None }
    }

    /// Sets the data.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// Sets the message.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

/// What a listener receives: the channel and the payload (Amplify's
/// `HubCapsule`). One capsule is shared by all listeners of a dispatch.
#[derive(Clone, Debug, PartialEq)]
pub struct HubCapsule {
    /// The channel it was dispatched on.
    pub channel: String,
    /// The payload.
    pub payload: HubPayload,
}

/// Why a dispatch was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HubError {
    /// The channel is protected (see [`PROTECTED_CHANNELS`]); the `auth`
    /// channel takes [`Hub::dispatch_auth`] with the hub's [`AuthChannelKey`].
    ProtectedChannel {
        /// The channel.
        channel: String,
    },
    /// The [`AuthChannelKey`] belongs to another hub.
    ForeignKey,
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ProtectedChannel { channel } => {
                write!(f, "channel {channel:?} is protected; only its owning library may dispatch on it")
            }
            Self::ForeignKey => f.write_str("this AuthChannelKey was issued by another hub"),
        }
    }
}

impl std::error::Error for HubError {}

type Callback = Box<dyn Fn(&HubCapsule) + Send + Sync + 'static>;

enum Sink {
    Callback(Callback),
    Stream(StreamSender),
}

struct Entry {
    id: u64,
    active: AtomicBool,
    sink: Sink,
}

/// Listeners of one channel, in registration order (ids increase). Shared
/// copy-on-write: a dispatch clones the `Arc`, so the registry lock is never
/// held while a listener runs.
type ListenerList = Arc<Vec<Arc<Entry>>>;

pub(crate) struct Inner {
    id: u64,
    next_listener: AtomicU64,
    panics: AtomicU64,
    channels: Mutex<HashMap<String, ListenerList>>,
}

static NEXT_HUB: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Per thread, the hubs currently delivering on it and the events
    /// dispatched from inside their listeners, delivered after the current
    /// one so every listener sees events in dispatch order.
    static DELIVERING: RefCell<Vec<(u64, VecDeque<Arc<HubCapsule>>)>> = const { RefCell::new(Vec::new()) };
}

/// An event hub with named channels: an instance, not a global. Cloning gives
/// another handle to the same hub.
///
/// # Delivery
///
/// * **Synchronous, in registration order**, as in Amplify: `dispatch`
///   returns after every callback listener of the channel has run, on the
///   dispatching thread. A callback should therefore be quick; work that may
///   be slow belongs behind [`Hub::subscribe`], whose queue decouples the
///   consumer from the dispatcher completely.
/// * **No lock is held while a listener runs**, so listeners may dispatch,
///   listen and remove listeners (even themselves) without deadlock, and a
///   slow listener on one channel does not block dispatches on other
///   channels from other threads.
/// * **A panicking listener is isolated**: the panic is caught, counted
///   ([`Hub::listener_panics`]) and the remaining listeners still run. (With
///   `panic = "abort"` there is nothing to catch.)
/// * **Order**: events from one dispatching thread reach each listener in
///   dispatch order. An event dispatched from inside a listener is queued and
///   delivered once the current event has reached every listener, so no
///   listener sees the nested event before the outer one.
/// * A listener added during a dispatch does not receive that event; one
///   removed during a dispatch on the same thread does not receive it either
///   if it had not been called yet. No replay: late listeners miss earlier
///   events.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channels = self.inner.lock();
        let mut names: Vec<(&str, usize)> = channels.iter().map(|(k, v)| (k.as_str(), v.len())).collect();
        names.sort_unstable();
        f.debug_struct("Hub").field("id", &self.inner.id).field("listeners", &names).finish()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, ListenerList>> {
        // No user code runs while this lock is held, so poisoning can only
        // come from an allocation failure; the map is still consistent.
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remove(&self, channel: &str, id: u64) {
        let mut channels = self.lock();
        let Some(list) = channels.get_mut(channel) else { return };
        if let Ok(pos) = list.binary_search_by_key(&id, |e| e.id) {
            list[pos].active.store(false, Ordering::Release);
            Arc::make_mut(list).remove(pos);
        }
        if list.is_empty() {
            channels.remove(channel);
        }
    }
}

impl Hub {
    /// A hub on which nobody can dispatch to protected channels.
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                id: NEXT_HUB.fetch_add(1, Ordering::Relaxed),
                next_listener: AtomicU64::new(0),
                panics: AtomicU64::new(0),
                channels: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A hub plus the only key that can dispatch on its `auth` channel.
    ///
    /// **For the auth crate.** It creates the hub, keeps the key and hands
    /// out clones of the hub, so applications can listen to `auth` but not
    /// forge events on it.
    #[must_use]
    pub fn new_with_auth_key() -> (Self, AuthChannelKey) {
        let hub = Self::new();
        let key = AuthChannelKey::new(hub.inner.id);
        (hub, key)
    }

    /// Calls `callback` for every event on `channel` until the returned
    /// handle is dropped or [`ListenerHandle::remove`]d.
    pub fn listen<F>(&self, channel: impl Into<String>, callback: F) -> ListenerHandle
    where
        F: Fn(&HubCapsule) + Send + Sync + 'static,
    {
        self.add(channel.into(), Sink::Callback(Box::new(callback)))
    }

    /// Calls `callback` with each [`AuthEvent`] on the `auth` channel.
    /// Payloads that are not a known auth event are skipped.
    pub fn listen_auth<F>(&self, callback: F) -> ListenerHandle
    where
        F: Fn(&AuthEvent) + Send + Sync + 'static,
    {
        self.listen(AUTH_CHANNEL, move |capsule| {
            if let Ok(event) = AuthEvent::from_payload(&capsule.payload) {
                callback(&event);
            }
        })
    }

    /// The events of `channel` as an async stream. Dispatch never waits for
    /// the consumer: events queue up to `capacity` (the oldest are dropped
    /// beyond that and counted by [`HubStream::dropped_events`]). Dropping
    /// the stream stops listening.
    #[must_use]
    pub fn subscribe(&self, channel: impl Into<String>, capacity: usize) -> HubStream {
        let (sender, shared) = StreamSender::new(capacity);
        let handle = self.add(channel.into(), Sink::Stream(sender));
        HubStream::new(shared, handle)
    }

    fn add(&self, channel: String, sink: Sink) -> ListenerHandle {
        let id = self.inner.next_listener.fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(Entry { id, active: AtomicBool::new(true), sink });
        {
            let mut channels = self.inner.lock();
            // Ids are taken before the lock, so two threads may insert out of
            // id order; keep the list sorted (registration = id order).
            let list = Arc::make_mut(channels.entry(channel.clone()).or_default());
            let pos = list.partition_point(|e| e.id < id);
            list.insert(pos, entry);
        }
        ListenerHandle { hub: Arc::downgrade(&self.inner), channel, id, detached: false }
    }

    /// Dispatches `payload` on `channel`.
    ///
    /// # Errors
    ///
    /// [`HubError::ProtectedChannel`] for the channels of
    /// [`PROTECTED_CHANNELS`]; nothing is delivered.
    pub fn dispatch(&self, channel: &str, payload: HubPayload) -> Result<(), HubError> {
        if is_protected(channel) {
            return Err(HubError::ProtectedChannel { channel: channel.to_owned() });
        }
        self.deliver_in_order(Arc::new(HubCapsule { channel: channel.to_owned(), payload }));
        Ok(())
    }

    /// Dispatches an [`AuthEvent`] on the `auth` channel.
    ///
    /// # Errors
    ///
    /// [`HubError::ForeignKey`] if `key` was issued for another hub.
    pub fn dispatch_auth(&self, key: &AuthChannelKey, event: &AuthEvent) -> Result<(), HubError> {
        self.dispatch_auth_payload(key, event.to_payload())
    }

    /// Dispatches a raw payload on the `auth` channel (for events this crate
    /// has no variant for yet).
    ///
    /// # Errors
    ///
    /// [`HubError::ForeignKey`] if `key` was issued for another hub.
    pub fn dispatch_auth_payload(&self, key: &AuthChannelKey, payload: HubPayload) -> Result<(), HubError> {
        if key.hub_id() != self.inner.id {
            return Err(HubError::ForeignKey);
        }
        self.deliver_in_order(Arc::new(HubCapsule { channel: AUTH_CHANNEL.to_owned(), payload }));
        Ok(())
    }

    /// How many listener panics have been caught so far.
    #[must_use]
    pub fn listener_panics(&self) -> u64 {
        self.inner.panics.load(Ordering::Relaxed)
    }

    /// How many listeners `channel` has.
    #[must_use]
    pub fn listener_count(&self, channel: &str) -> usize {
        self.inner.lock().get(channel).map_or(0, |l| l.len())
    }

    fn deliver_in_order(&self, capsule: Arc<HubCapsule>) {
        let hub_id = self.inner.id;
        let queued = DELIVERING.with(|d| {
            let mut d = d.borrow_mut();
            if let Some((_, queue)) = d.iter_mut().find(|(id, _)| *id == hub_id) {
                queue.push_back(Arc::clone(&capsule));
                true
            } else {
                d.push((hub_id, VecDeque::new()));
                false
            }
        });
        if queued {
            return; // the outer dispatch on this thread delivers it next
        }
        struct Done(u64);
        impl Drop for Done {
            fn drop(&mut self) {
                let _ = DELIVERING.try_with(|d| d.borrow_mut().retain(|(id, _)| *id != self.0));
            }
        }
        let _done = Done(hub_id);
        let mut next = Some(capsule);
        while let Some(capsule) = next {
            self.deliver(&capsule);
            next = DELIVERING
                .with(|d| d.borrow_mut().iter_mut().find(|(id, _)| *id == hub_id).and_then(|(_, q)| q.pop_front()));
        }
    }

    fn deliver(&self, capsule: &Arc<HubCapsule>) {
        let Some(list) = self.inner.lock().get(&capsule.channel).cloned() else {
            return;
        };
        for entry in list.iter() {
            if !entry.active.load(Ordering::Acquire) {
                continue;
            }
            match &entry.sink {
                Sink::Callback(callback) => {
                    if catch_unwind(AssertUnwindSafe(|| callback(capsule))).is_err() {
                        self.inner.panics.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Sink::Stream(sender) => sender.push(Arc::clone(capsule)),
            }
        }
    }
}

/// Keeps a listener registered. Dropping it, or calling
/// [`remove`](Self::remove), unsubscribes; [`detach`](Self::detach) keeps the
/// listener for the hub's lifetime.
#[must_use = "dropping the handle stops the listener at once"]
pub struct ListenerHandle {
    hub: Weak<Inner>,
    channel: String,
    id: u64,
    detached: bool,
}

impl fmt::Debug for ListenerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerHandle").field("channel", &self.channel).field("id", &self.id).finish_non_exhaustive()
    }
}

impl ListenerHandle {
    /// Stops listening (the same as dropping the handle).
    pub fn remove(self) {
        drop(self);
    }

    /// Keeps listening until the hub is dropped; the listener can no longer
    /// be removed.
    pub fn detach(mut self) {
        self.detached = true;
    }

    /// The channel listened to.
    #[must_use]
    pub fn channel(&self) -> &str {
        &self.channel
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        if let Some(inner) = self.hub.upgrade() {
            inner.remove(&self.channel, self.id);
        }
    }
}
