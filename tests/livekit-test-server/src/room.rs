//! TEST FIXTURE, not a product: rooms of the LiveKit test server and the registry holding them.
//! Room creation fires hooks so later fixtures (e.g. agent dispatch) can react to new rooms.

use crate::participant::Participant;
use livekit_protocol as proto;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Callback run when a room is created (by a join or by RoomService.CreateRoom).
pub type RoomCreatedHook = Arc<dyn Fn(&proto::Room) + Send + Sync>;

pub(crate) struct Room {
    pub sid: String,
    pub name: String,
    pub created_at: i64,
    pub empty_timeout: u32,
    pub max_participants: u32,
    pub metadata: Mutex<String>,
    pub participants: Mutex<Vec<Arc<Participant>>>,
}

impl Room {
    pub(crate) fn info(&self) -> proto::Room {
        let parts = self.participants();
        proto::Room {
            sid: self.sid.clone(),
            name: self.name.clone(),
            empty_timeout: self.empty_timeout,
            max_participants: self.max_participants,
            creation_time: self.created_at,
            creation_time_ms: self.created_at * 1000,
            metadata: self.metadata.lock().map(|m| m.clone()).unwrap_or_default(),
            num_participants: parts.len() as u32,
            num_publishers: parts.iter().filter(|p| p.has_tracks()).count() as u32,
            ..Default::default()
        }
    }

    pub(crate) fn participants(&self) -> Vec<Arc<Participant>> {
        self.participants
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    pub(crate) fn find_identity(&self, identity: &str) -> Option<Arc<Participant>> {
        self.participants()
            .into_iter()
            .find(|p| p.identity == identity)
    }

    pub(crate) fn find_sid(&self, sid: &str) -> Option<Arc<Participant>> {
        self.participants().into_iter().find(|p| p.sid == sid)
    }

    /// Adds a joining participant; `join` gets the others (hidden ones left out) while the
    /// room is locked, to queue the JoinResponse before anyone can send it an update.
    pub(crate) fn add_joining(
        &self,
        p: Arc<Participant>,
        join: impl FnOnce(Vec<proto::ParticipantInfo>),
    ) {
        if let Ok(mut v) = self.participants.lock() {
            let others = v
                .iter()
                .map(|o| o.info())
                .filter(|i| !i.permission.as_ref().is_some_and(|pm| pm.hidden))
                .collect();
            join(others);
            v.push(p);
        }
    }

    /// Removes by sid; returns whether it was present.
    pub(crate) fn remove(&self, sid: &str) -> bool {
        let Ok(mut v) = self.participants.lock() else {
            return false;
        };
        let before = v.len();
        v.retain(|p| p.sid != sid);
        before != v.len()
    }

    /// Sends a ParticipantUpdate with `info` to everyone except `exclude_sid`. Hidden
    /// participants (token `hidden`) are only told about themselves.
    pub(crate) fn broadcast_update(
        &self,
        info: &proto::ParticipantInfo,
        exclude_sid: Option<&str>,
    ) {
        let hidden = info.permission.as_ref().is_some_and(|p| p.hidden);
        for p in self.participants() {
            if Some(p.sid.as_str()) == exclude_sid || (hidden && p.sid != info.sid) {
                continue;
            }
            p.send_update(vec![info.clone()]);
        }
    }
}

/// All rooms, by name.
#[derive(Default)]
pub(crate) struct Rooms {
    map: Mutex<HashMap<String, Arc<Room>>>,
    hooks: Mutex<Vec<RoomCreatedHook>>,
}

impl Rooms {
    pub(crate) fn add_hook(&self, hook: RoomCreatedHook) {
        if let Ok(mut h) = self.hooks.lock() {
            h.push(hook);
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<Room>> {
        self.map.lock().ok()?.get(name).cloned()
    }

    pub(crate) fn list(&self) -> Vec<Arc<Room>> {
        self.map
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Returns the room and whether it was created by this call.
    pub(crate) fn get_or_create(
        &self,
        name: &str,
        empty_timeout: u32,
        max_participants: u32,
        metadata: &str,
    ) -> (Arc<Room>, bool) {
        let (room, created) = {
            let Ok(mut map) = self.map.lock() else {
                // Poisoned only if a thread panicked while holding it; fall back to a detached room.
                return (
                    Arc::new(new_room(name, empty_timeout, max_participants, metadata)),
                    true,
                );
            };
            if let Some(r) = map.get(name) {
                (r.clone(), false)
            } else {
                let r = Arc::new(new_room(name, empty_timeout, max_participants, metadata));
                map.insert(name.to_owned(), r.clone());
                (r, true)
            }
        };
        if created {
            let info = room.info();
            let hooks = self.hooks.lock().map(|h| h.clone()).unwrap_or_default();
            for h in hooks {
                h(&info);
            }
        }
        (room, created)
    }

    pub(crate) fn remove(&self, name: &str) -> Option<Arc<Room>> {
        self.map.lock().ok()?.remove(name)
    }
}

fn new_room(name: &str, empty_timeout: u32, max_participants: u32, metadata: &str) -> Room {
    Room {
        sid: crate::ids::new_id("RM_"),
        name: name.to_owned(),
        created_at: crate::ids::now_secs(),
        empty_timeout,
        max_participants,
        metadata: Mutex::new(metadata.to_owned()),
        participants: Mutex::new(Vec::new()),
    }
}
