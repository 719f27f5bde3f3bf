use super::*;

fn listening() -> Versions {
    let versions = Versions::default();
    versions.hearing();
    versions
}

async fn read(kept: &Kept<u32>, versions: &Versions, key: &str, value: u32) -> u32 {
    let got: Result<Arc<u32>, ()> = kept.get(versions, key.to_owned(), async { Ok(value) }).await;
    *got.expect("the loader does not fail")
}

#[tokio::test]
async fn kept_until_a_topic_it_depends_on_is_written() {
    let versions = listening();
    let kept = Kept::new(&[Topic::Requests, Topic::History]);
    assert_eq!(read(&kept, &versions, "a", 1).await, 1);
    // Kept: the second loader is not asked.
    assert_eq!(read(&kept, &versions, "a", 2).await, 1);
    // Another key is read on its own.
    assert_eq!(read(&kept, &versions, "b", 3).await, 3);
    // A topic it does not depend on leaves it.
    versions.wrote(&[Topic::Audit]);
    assert_eq!(read(&kept, &versions, "a", 4).await, 1);
    versions.notified("observed_revision");
    assert_eq!(read(&kept, &versions, "a", 5).await, 5);
    versions.wrote(&[Topic::Requests]);
    assert_eq!(read(&kept, &versions, "a", 6).await, 6);
    // A table this version does not know drops everything.
    versions.notified("some_new_table");
    assert_eq!(read(&kept, &versions, "a", 7).await, 7);
}

#[tokio::test]
async fn nothing_kept_while_not_hearing() {
    let versions = Versions::default();
    let kept = Kept::new(&[Topic::Audit]);
    assert_eq!(read(&kept, &versions, "a", 1).await, 1);
    assert_eq!(read(&kept, &versions, "a", 2).await, 2);
    assert!(kept.is_empty());
    versions.hearing();
    assert_eq!(read(&kept, &versions, "a", 3).await, 3);
    assert_eq!(read(&kept, &versions, "a", 4).await, 3);
    // Deaf, then hearing again: what was kept before may have missed a notification.
    versions.deaf();
    assert_eq!(read(&kept, &versions, "a", 5).await, 5);
    versions.hearing();
    assert_eq!(read(&kept, &versions, "a", 6).await, 6);
}

#[tokio::test]
async fn a_write_during_the_reading_leaves_it_outdated() {
    let versions = listening();
    let kept = Kept::new(&[Topic::Backups]);
    let got: Result<Arc<u32>, ()> = kept
        .get(&versions, "a".to_owned(), async {
            versions.wrote(&[Topic::Backups]);
            Ok(1)
        })
        .await;
    assert_eq!(*got.expect("the loader does not fail"), 1);
    assert_eq!(read(&kept, &versions, "a", 2).await, 2);
}

#[tokio::test]
async fn bounded() {
    let versions = listening();
    let kept = Kept::new(&[Topic::Audit]);
    for i in 0..200u32 {
        read(&kept, &versions, &i.to_string(), i).await;
        assert!(kept.len() <= MOST_KEPT, "{} kept", kept.len());
    }
    assert!(!kept.is_empty());
}

/// On this test's single-threaded runtime every spawned view runs up to where it waits
/// (one in its reading, the others at the gate) before the test goes on from `yield_now`.
#[tokio::test]
async fn views_that_miss_together_wait_for_one_reading() {
    let versions = Arc::new(listening());
    let kept = Arc::new(Kept::<u32>::new(&[Topic::Audit]));
    let (release, released) = tokio::sync::watch::channel(false);
    let views: Vec<_> = (0..8u32)
        .map(|i| {
            let (kept, versions, mut released) =
                (Arc::clone(&kept), Arc::clone(&versions), released.clone());
            tokio::spawn(async move {
                let reading = async move {
                    let _ = released.wait_for(|r| *r).await;
                    Ok::<_, ()>(i)
                };
                *kept.get(&versions, "a".to_owned(), reading).await.expect("it reads")
            })
        })
        .collect();
    tokio::task::yield_now().await;
    release.send(true).expect("the views listen");
    let mut seen = Vec::new();
    for view in views {
        seen.push(view.await.expect("the view ends"));
    }
    assert_eq!(kept.loads(), 1, "one reading for eight views");
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "all got that reading: {seen:?}");
}

/// While nothing is heard, nothing is kept: two views read side by side (here each reading
/// waits for the other's to have started, which one reading at a time would never allow).
#[tokio::test]
async fn while_not_hearing_views_do_not_wait_for_each_other() {
    let versions = Versions::default();
    let kept = Kept::<u32>::new(&[Topic::Audit]);
    let both = tokio::sync::Barrier::new(2);
    let read = |i: u32| {
        let (kept, versions, both) = (&kept, &versions, &both);
        async move {
            let reading = async move {
                both.wait().await;
                Ok::<_, ()>(i)
            };
            *kept.get(versions, "a".to_owned(), reading).await.expect("it reads")
        }
    };
    let together = futures_util::future::join(read(1), read(2));
    let got = tokio::time::timeout(std::time::Duration::from_secs(20), together).await;
    assert_eq!(got.expect("the two readings ran side by side"), (1, 2));
    assert_eq!(kept.loads(), 2);
}
