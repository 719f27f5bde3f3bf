//! The simulated etcd + apiserver storage: objects with a cluster-wide resourceVersion,
//! and a bounded log of changes that watches replay and follow.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::resources::RESOURCES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as a watch delivers it.
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: EventType,
    pub resource: usize,
    pub namespace: String,
    pub object: Arc<Value>,
    pub rv: u64,
}

/// Where an object lives: type, namespace ("" for cluster-scoped), name.
pub type Key = (usize, String, String);

struct Inner {
    rv: u64,
    objects: BTreeMap<Key, Arc<Value>>,
    log: VecDeque<Change>,
    /// Changes with a resourceVersion at or below this are no longer in the log.
    compacted: u64,
}

/// Cheap to clone; all clones share the same cluster state.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Mutex<Inner>>,
    changes: broadcast::Sender<Change>,
    log_limit: usize,
    clock: Clock,
}

/// A watch's starting point: the changes it must replay, then the live feed.
pub struct Subscription {
    pub backlog: Vec<Change>,
    pub live: broadcast::Receiver<Change>,
    pub current: Vec<Arc<Value>>,
    pub rv: u64,
}

impl Store {
    /// `log_limit`: how many changes watches can resume from before getting 410 Gone.
    pub fn new(log_limit: usize, clock: Clock) -> Self {
        let (changes, _) = broadcast::channel(65_536);
        Self {
            inner: Arc::new(Mutex::new(Inner {
                rv: 1,
                objects: BTreeMap::new(),
                log: VecDeque::new(),
                compacted: 1,
            })),
            changes,
            log_limit,
            clock,
        }
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    pub fn get(
        &self,
        resource: usize,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, ApiError> {
        self.lock()
            .objects
            .get(&(resource, namespace.to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| ApiError::NotFound { resource, name: name.to_owned() })
    }

    /// Objects of a type, in one namespace or all, sorted by namespace and name; with the
    /// resourceVersion the list is consistent with.
    pub fn list(&self, resource: usize, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let inner = self.lock();
        // One namespace is a range of its own: keys sort by namespace, and `ns\0` is the
        // first namespace after `ns`. (Filtering the whole resource instead made every
        // controller's per-object list walk every namespace's pods: at 50 environments
        // the simulator spent a core on it.)
        let range = match namespace {
            Some(ns) => {
                (resource, ns.to_owned(), String::new())
                    ..(resource, format!("{ns}\0"), String::new())
            }
            None => {
                (resource, String::new(), String::new())
                    ..(resource + 1, String::new(), String::new())
            }
        };
        let items = inner.objects.range(range).map(|(_, v)| Arc::clone(v)).collect();
        (items, inner.rv)
    }

    /// Stores a new object. The caller has validated and defaulted it.
    pub fn create(&self, resource: usize, mut object: Value) -> Result<Arc<Value>, ApiError> {
        let namespace = str_at(&object, "/metadata/namespace").to_owned();
        let name = str_at(&object, "/metadata/name").to_owned();
        let mut inner = self.lock();
        let key = (resource, namespace.clone(), name.clone());
        if inner.objects.contains_key(&key) {
            return Err(ApiError::AlreadyExists { resource, name });
        }
        if RESOURCES[resource].namespaced
            && !inner.objects.contains_key(&(
                crate::resources::ids::NAMESPACE,
                String::new(),
                namespace.clone(),
            ))
        {
            return Err(ApiError::NotFound {
                resource: crate::resources::ids::NAMESPACE,
                name: namespace,
            });
        }
        inner.rv += 1;
        let rv = inner.rv;
        let meta = &mut object["metadata"];
        meta["resourceVersion"] = json!(rv.to_string());
        if meta.get("uid").is_none_or(Value::is_null) {
            meta["uid"] = json!(uuid::Uuid::new_v4().to_string());
        }
        if meta.get("creationTimestamp").is_none_or(Value::is_null) {
            meta["creationTimestamp"] = json!(self.clock.timestamp());
        }
        if !matches!(resource, crate::resources::ids::NAMESPACE | crate::resources::ids::EVENT) {
            meta["generation"] = json!(1);
        }
        let object = Arc::new(object);
        inner.objects.insert(key, Arc::clone(&object));
        self.record(&mut inner, EventType::Added, resource, namespace, Arc::clone(&object), rv);
        Ok(object)
    }

    /// Read-modify-write of one object under the store lock. `change` receives a copy
    /// and returns the new object; returning the object unchanged writes nothing.
    /// `expected_rv`, when given, must equal the stored resourceVersion (409 otherwise).
    pub fn update<F>(
        &self,
        resource: usize,
        namespace: &str,
        name: &str,
        expected_rv: Option<&str>,
        change: F,
    ) -> Result<Arc<Value>, ApiError>
    where
        F: FnOnce(&Value) -> Result<Value, ApiError>,
    {
        let mut inner = self.lock();
        let key = (resource, namespace.to_owned(), name.to_owned());
        let current = inner
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::NotFound { resource, name: name.to_owned() })?;
        if let Some(expected) = expected_rv {
            if expected != str_at(&current, "/metadata/resourceVersion") {
                return Err(ApiError::Conflict { resource, name: name.to_owned() });
            }
        }
        let mut next = change(&current)?;
        // Identity fields are the server's, whatever the request says.
        for field in
            ["uid", "creationTimestamp", "namespace", "name", "resourceVersion", "generation"]
        {
            next["metadata"][field] = current["metadata"][field].clone();
        }
        if next == *current {
            return Ok(current);
        }
        if current.get("spec") != next.get("spec")
            && !matches!(resource, crate::resources::ids::NAMESPACE | crate::resources::ids::EVENT)
        {
            let generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
            next["metadata"]["generation"] = json!(generation + 1);
        }
        inner.rv += 1;
        let rv = inner.rv;
        next["metadata"]["resourceVersion"] = json!(rv.to_string());
        let next = Arc::new(next);
        inner.objects.insert(key, Arc::clone(&next));
        self.record(
            &mut inner,
            EventType::Modified,
            resource,
            namespace.to_owned(),
            Arc::clone(&next),
            rv,
        );
        Ok(next)
    }

    /// Removes an object and, like the garbage collector in background mode, every object
    /// whose ownerReferences point at it (transitively).
    pub fn delete(
        &self,
        resource: usize,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, ApiError> {
        let mut inner = self.lock();
        let removed = Self::remove(&mut inner, self, resource, namespace, name)?;
        let mut owners = vec![str_at(&removed, "/metadata/uid").to_owned()];
        if resource == crate::resources::ids::NAMESPACE {
            // Deleting a namespace deletes everything in it.
            let inside: Vec<Key> =
                inner.objects.keys().filter(|(_, ns, _)| ns == name).cloned().collect();
            for (r, ns, n) in inside {
                let _ = Self::remove(&mut inner, self, r, &ns, &n);
            }
        }
        while let Some(owner) = owners.pop() {
            let dependents: Vec<Key> = inner
                .objects
                .iter()
                .filter(|(_, obj)| owned_by(obj, &owner))
                .map(|(k, _)| k.clone())
                .collect();
            for (r, ns, n) in dependents {
                if let Ok(gone) = Self::remove(&mut inner, self, r, &ns, &n) {
                    owners.push(str_at(&gone, "/metadata/uid").to_owned());
                }
            }
        }
        Ok(removed)
    }

    fn remove(
        inner: &mut Inner,
        store: &Store,
        resource: usize,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, ApiError> {
        let key = (resource, namespace.to_owned(), name.to_owned());
        let removed = inner
            .objects
            .remove(&key)
            .ok_or_else(|| ApiError::NotFound { resource, name: name.to_owned() })?;
        inner.rv += 1;
        let rv = inner.rv;
        let mut last = (*removed).clone();
        last["metadata"]["resourceVersion"] = json!(rv.to_string());
        let last = Arc::new(last);
        store.record(
            inner,
            EventType::Deleted,
            resource,
            namespace.to_owned(),
            Arc::clone(&last),
            rv,
        );
        Ok(last)
    }

    fn record(
        &self,
        inner: &mut Inner,
        kind: EventType,
        resource: usize,
        namespace: String,
        object: Arc<Value>,
        rv: u64,
    ) {
        let change = Change { kind, resource, namespace, object, rv };
        inner.log.push_back(change.clone());
        while inner.log.len() > self.log_limit {
            if let Some(old) = inner.log.pop_front() {
                inner.compacted = old.rv;
            }
        }
        // Nobody listening is fine.
        let _ = self.changes.send(change);
    }

    /// Forgets the change log, as etcd compaction does: watches from any earlier
    /// resourceVersion now get 410 Gone.
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.log.clear();
        inner.compacted = inner.rv;
    }

    /// Starts a watch of one type. `from`: None = current state first (synthetic ADDED),
    /// Some(rv) = every change after rv (410 when rv is older than the log).
    pub fn subscribe(&self, resource: usize, from: Option<u64>) -> Result<Subscription, ApiError> {
        let inner = self.lock();
        // Subscribing under the lock: no change can fall between backlog and live feed.
        let live = self.changes.subscribe();
        let rv = inner.rv;
        match from {
            None => {
                let current = inner
                    .objects
                    .range(
                        (resource, String::new(), String::new())
                            ..(resource + 1, String::new(), String::new()),
                    )
                    .map(|(_, v)| Arc::clone(v))
                    .collect();
                Ok(Subscription { backlog: Vec::new(), live, current, rv })
            }
            Some(since) => {
                if since < inner.compacted {
                    return Err(ApiError::Gone { requested: since, oldest: inner.compacted });
                }
                let backlog = inner
                    .log
                    .iter()
                    .filter(|c| c.rv > since && c.resource == resource)
                    .cloned()
                    .collect();
                Ok(Subscription { backlog, live, current: Vec::new(), rv })
            }
        }
    }
}

fn owned_by(object: &Value, owner_uid: &str) -> bool {
    object["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner_uid))
}

/// The string at a JSON pointer, or "".
pub fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::Store;
    use crate::clock::Clock;
    use crate::resources::ids::{EVENT, NAMESPACE, POD};
    use serde_json::json;

    #[test]
    fn a_namespace_lists_its_own_objects_and_no_neighbours() {
        let store = Store::new(100, Clock::new(1.0));
        // Names that sort right next to "dev": a prefix, an extension, a byte after.
        for ns in ["de", "dev", "dev-2", "dev2", "deva"] {
            let namespace = json!({"metadata": {"name": ns}});
            store.create(NAMESPACE, namespace).expect("namespace");
            for name in ["a", "b"] {
                let pod = json!({"metadata": {"name": name, "namespace": ns}});
                store.create(POD, pod).expect("pod");
            }
        }
        let names = |ns: Option<&str>| {
            let (items, _) = store.list(POD, ns);
            items
                .iter()
                .map(|o| {
                    format!(
                        "{}/{}",
                        o["metadata"]["namespace"]
                            .as_str()
                            .expect("every stored pod has a namespace"),
                        o["metadata"]["name"].as_str().expect("every stored pod has a name")
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(names(Some("dev")), ["dev/a", "dev/b"]);
        assert_eq!(names(Some("dev2")), ["dev2/a", "dev2/b"]);
        assert_eq!(names(Some("nowhere")), Vec::<String>::new());
        assert_eq!(names(None).len(), 10);
        assert!(store.list(EVENT, Some("dev")).0.is_empty(), "another resource's objects");
    }
}
