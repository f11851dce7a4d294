//! Engine classes on chain (issue 15, item 6), each as a short story: every provider declares
//! its sandbox's engine class, a task's replicas all come from one class (its first draw picks
//! it, every later replica follows it), a class too small for a task does not qualify, a
//! provider cannot change class under a task, the selection weight cap holds within the pool a
//! task is drawn from, and only the classes the chain admits (a genesis parameter) may be
//! declared.

use yun_state::genesis::{GenesisError, genesis_writes};
use yun_state::market::why::WaitReason;
use yun_state::market::{ReplicaState, TaskPhase};
use yun_state::scenario::{Scenario, addr, genesis_with};
use yun_state::scenario_market::{
    Commitments, ENGINE_CLASS_DEFAULT, engine_class, job_spec, offer, verdict,
};
use yun_types::market::JobId;
use yun_types::{Address, ENGINE_CLASSES_MAX, Hash32, TxRejection};

const BOND: u128 = 1_000_000;

/// A market whose genesis admits the engine classes "A", "B" and "C" besides the default one.
fn market(names: &[&str]) -> Scenario {
    let mut s = Scenario::new();
    for class in ["A", "B", "C"] {
        s.admit_engine_class(class);
    }
    s.fund("alice", 1_000_000_000_000);
    for n in names {
        s.fund(n, 1_000 * BOND);
    }
    s
}

/// The class each replica's provider declared, for every replica of the task.
fn classes_of(s: &mut Scenario, job: &JobId, index: u32) -> Vec<Hash32> {
    let task = s.task(job, index);
    task.replicas
        .iter()
        .map(|r| s.view().provider(&r.provider).unwrap().spec.engine_class)
        .collect()
}

fn providers_of(s: &mut Scenario, job: &JobId, index: u32) -> Vec<Address> {
    s.task(job, index)
        .replicas
        .iter()
        .map(|r| r.provider)
        .collect()
}

#[test]
fn an_offer_without_an_engine_class_is_refused() {
    let mut s = market(&["p1"]);
    s.tx("p1")
        .act(offer().no_class().register(BOND))
        .expect_failed(TxRejection::EngineClassMissing);
    s.tx("p1").act(offer().register(BOND)).expect_ok();
    s.tx("p1")
        .act(offer().no_class().update())
        .expect_failed(TxRejection::EngineClassMissing);
    assert_eq!(
        s.provider("p1").spec.engine_class,
        engine_class("engine class A")
    );
    let r = TxRejection::EngineClassMissing;
    assert_eq!(r.code(), 54);
    assert!(r.hint().contains("yun provider register"));
}

/// Any 32 bytes are not a class: colluders all declaring a private one would win every
/// replica of the tasks drawn for it. An offer must declare a class the chain admits, at
/// registration and at every update, and a refused update leaves the offer as it was.
#[test]
fn a_provider_declaring_an_ungoverned_engine_class_is_refused_as_is_an_update_to_one() {
    let mut s = market(&["p1", "p2"]);
    assert!(
        !s.params
            .market
            .engine_classes
            .contains(&engine_class("private"))
    );
    s.tx("p1")
        .act(offer().class("private").register(BOND))
        .expect_failed(TxRejection::EngineClassNotGoverned);
    assert!(
        s.view().provider(&addr("p1")).is_none(),
        "nothing registered"
    );
    s.tx("p1")
        .act(offer().class("A").register(BOND))
        .expect_ok();
    s.tx("p1")
        .act(offer().class("private").ask(2).update())
        .expect_failed(TxRejection::EngineClassNotGoverned);
    let p1 = s.provider("p1");
    assert_eq!(p1.spec.engine_class, engine_class("A"));
    assert_eq!(
        p1.spec.ask_per_mfuel.base_units(),
        1,
        "the update was not applied"
    );
    // A change to another admitted class is an ordinary update.
    s.tx("p1").act(offer().class("B").update()).expect_ok();
    assert_eq!(s.provider("p1").spec.engine_class, engine_class("B"));
    // The zero hash is missing, not ungoverned: that refusal still comes first.
    s.tx("p2")
        .act(offer().no_class().register(BOND))
        .expect_failed(TxRejection::EngineClassMissing);
    let r = TxRejection::EngineClassNotGoverned;
    assert_eq!(r.code(), 56);
    assert_eq!(TxRejection::from_code(56), Some(r));
    assert!(r.message().contains("market.engine_classes"));
    assert!(r.hint().contains("run an admitted release") && r.hint().contains("yun market"));
}

/// Four providers of each of two classes, eight tasks of k = 3: every task runs on one class,
/// records it, and both classes get work.
#[test]
fn the_replicas_of_a_task_all_share_one_engine_class() {
    let names = ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4"];
    let mut s = market(&names);
    for n in names {
        let class = if n.starts_with('a') { "A" } else { "B" };
        s.tx(n)
            .act(offer().slots(6).class(class).register(BOND))
            .expect_ok();
    }
    let job = s
        .post(&job_spec().tasks(8).replicate(3, 2).bid(100), "alice")
        .expect_ok()
        .tx_id;
    let mut seen = Vec::new();
    for i in 0..8 {
        let classes = classes_of(&mut s, &job, i);
        assert_eq!(classes.len(), 3, "task {i} got all its replicas at once");
        assert!(
            classes.iter().all(|c| *c == classes[0]),
            "task {i} mixes classes"
        );
        assert_eq!(s.task(&job, i).engine_class, Some(classes[0]));
        seen.push(classes[0]);
    }
    assert!(seen.contains(&engine_class("A")) && seen.contains(&engine_class("B")));
}

/// Three class-A providers take a k = 3 task and disagree three ways: the extra replica must
/// come from class A too, though five class-B providers are free. Until another A provider
/// exists the task waits, and `why` says the engine class filter left nobody new.
#[test]
fn an_escalation_stays_in_the_tasks_engine_class() {
    let names = ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4", "b5"];
    let mut s = market(&names);
    for n in ["a1", "a2", "a3"] {
        s.tx(n).act(offer().class("A").register(BOND)).expect_ok();
    }
    let job = s
        .post(
            &job_spec().replicate(3, 2).bid(100).deadline_in(1_000),
            "alice",
        )
        .expect_ok()
        .tx_id;
    assert_eq!(s.task(&job, 0).engine_class, Some(engine_class("A")));
    for n in ["b1", "b2", "b3", "b4", "b5"] {
        s.tx(n).act(offer().class("B").register(BOND)).expect_ok();
    }
    let mut book = Commitments::default();
    let digest = |p: &str| match p {
        "a1" => 1,
        "a2" => 2,
        _ => 3,
    };
    s.work_round(&["a1", "a2", "a3"], &mut book, |p, _| {
        verdict(digest(p), 1_000)
    });
    s.empty_block();
    let task = s.task(&job, 0);
    assert_eq!(task.phase, TaskPhase::Open, "no quorum yet");
    assert_eq!(task.replicas_wanted, 4, "one more replica wanted");
    assert_eq!(task.replicas.len(), 3, "no class-B provider was drawn");
    let why = &s.why(&job)[0];
    assert_eq!(
        why.reason,
        WaitReason::TooFewDistinctProviders {
            eligible: 0,
            needed: 1
        }
    );
    let by_class = why
        .excluded
        .iter()
        .find(|e| e.constraint == "engine_class")
        .expect("the engine class is a named constraint");
    assert_eq!(by_class.providers, 5, "the five class-B providers");
    s.tx("a4")
        .act(offer().class("A").register(BOND))
        .expect_ok();
    let providers = providers_of(&mut s, &job, 0);
    assert_eq!(providers.len(), 4);
    assert_eq!(providers[3], addr("a4"));
    s.work_round(&["a4"], &mut book, |_, _| verdict(3, 1_000));
    s.empty_block();
    let task = s.task(&job, 0);
    assert!(matches!(task.phase, TaskPhase::Verified { .. }), "{task:?}");
    assert!(
        classes_of(&mut s, &job, 0)
            .iter()
            .all(|c| *c == engine_class("A"))
    );
}

/// Two providers of each class: six independent providers in all, but no class holds the
/// three a k = 3 task needs at once. It waits, named; a third class-A provider lets it run.
#[test]
fn a_class_too_small_for_the_task_does_not_qualify_and_the_task_waits() {
    let names = ["a1", "a2", "b1", "b2", "c1", "a3"];
    let mut s = market(&names);
    for (n, class) in [("a1", "A"), ("a2", "A"), ("b1", "B"), ("b2", "B")] {
        s.tx(n).act(offer().class(class).register(BOND)).expect_ok();
    }
    s.tx("c1")
        .act(offer().class("C").register(BOND))
        .expect_ok();
    let job = s
        .post(
            &job_spec().replicate(3, 2).bid(100).deadline_in(1_000),
            "alice",
        )
        .expect_ok()
        .tx_id;
    s.empty_block();
    let task = s.task(&job, 0);
    assert!(task.replicas.is_empty(), "never a mixed-class task");
    assert_eq!(task.engine_class, None);
    assert_eq!(
        s.why(&job)[0].reason,
        WaitReason::TooFewInOneEngineClass {
            eligible: 2,
            needed: 3
        }
    );
    assert!(
        s.why(&job)[0]
            .reason
            .describe()
            .contains("one engine class")
    );
    s.tx("a3")
        .act(offer().class("A").register(BOND))
        .expect_ok();
    let classes = classes_of(&mut s, &job, 0);
    assert_eq!(classes, vec![engine_class("A"); 3]);
}

/// A provider with a task in flight cannot switch class (the task was drawn for its old
/// class); once the verdict is committed it can, and other changes never wait.
#[test]
fn a_provider_cannot_change_engine_class_under_a_task() {
    let mut s = market(&["p1"]);
    s.tx("p1")
        .act(offer().class("A").register(BOND))
        .expect_ok();
    let job = s
        .post(&job_spec().bid(100).deadline_in(1_000), "alice")
        .expect_ok()
        .tx_id;
    assert_eq!(s.assigned("p1").len(), 1);
    s.tx("p1")
        .act(offer().class("B").update())
        .expect_failed(TxRejection::EngineClassChangeInFlight);
    s.tx("p1")
        .act(offer().class("A").ask(2).update())
        .expect_ok();
    let mut book = Commitments::default();
    let commit = s
        .sign_commits("p1", &mut book, |_| verdict(1, 1_000))
        .unwrap();
    s.block(&[commit]).unwrap();
    assert_eq!(s.provider("p1").tasks_in_flight, 0);
    s.tx("p1").act(offer().class("B").update()).expect_ok();
    assert_eq!(s.provider("p1").spec.engine_class, engine_class("B"));
    // Its committed replica still reveals and is paid: the verdict was computed before.
    let reveal = s.sign_reveals("p1", &book).unwrap();
    s.block(&[reveal]).unwrap();
    let task = s.task(&job, 0);
    assert!(matches!(task.phase, TaskPhase::Verified { .. }));
    assert!(matches!(task.replicas[0].state, ReplicaState::Paid { .. }));
    assert_eq!(task.engine_class, Some(engine_class("A")));
}

/// The weight cap holds among the providers a task is actually drawn from. Eight big class-B
/// providers offer too little memory for the job, so its pool is one whale and twelve small
/// class-A providers: capped at 10 % of that pool, the whale takes about a tenth of 60 tasks.
/// (Capped against the whole market, where nine big bonds share the cap, the whale's weight
/// was the twelve small ones' together: half the tasks.)
#[test]
fn the_weight_cap_applies_within_the_pool_a_task_is_drawn_from() {
    let small: Vec<String> = (0..12).map(|i| format!("a{i}")).collect();
    let big: Vec<String> = (0..8).map(|i| format!("b{i}")).collect();
    let mut names: Vec<&str> = vec!["whale"];
    names.extend(small.iter().map(String::as_str));
    names.extend(big.iter().map(String::as_str));
    let mut s = market(&names);
    assert_eq!(s.params.market.selection_weight_cap_bps, 1_000);
    s.tx("whale")
        .act(offer().slots(100).memory_mb(4_096).register(100 * BOND))
        .expect_ok();
    for n in &small {
        s.tx(n)
            .act(offer().slots(100).memory_mb(4_096).register(BOND))
            .expect_ok();
    }
    for n in &big {
        s.tx(n)
            .act(
                offer()
                    .slots(100)
                    .memory_mb(1_024)
                    .class("B")
                    .register(100 * BOND),
            )
            .expect_ok();
    }
    let job = s
        .post(&job_spec().tasks(60).memory_mb(2_048).bid(100), "alice")
        .expect_ok()
        .tx_id;
    let mut whale = 0;
    for i in 0..60 {
        let p = providers_of(&mut s, &job, i);
        assert_eq!(p.len(), 1, "task {i} matched");
        whale += usize::from(p[0] == addr("whale"));
    }
    // Expected 6 of 60 (a tenth); capped against the whole market, 30.
    assert!(whale > 0 && whale < 18, "the whale took {whale} of 60");
}

/// The admitted classes are a genesis parameter: none at all would leave a chain no provider
/// could ever join, so it is refused with words saying so; so are the zero hash, a class
/// listed twice and more than `ENGINE_CLASSES_MAX`.
#[test]
fn genesis_refuses_no_engine_class_a_zero_one_a_repeated_one_and_too_many() {
    let base = || genesis_with(&[("alice", 1)]);
    assert_eq!(
        base().params.market.engine_classes,
        vec![engine_class(ENGINE_CLASS_DEFAULT)]
    );
    assert!(genesis_writes(&base()).is_ok());

    let mut g = base();
    g.params.market.engine_classes.clear();
    let err = genesis_writes(&g).expect_err("no class");
    assert_eq!(err, GenesisError::NoEngineClasses);
    assert!(err.to_string().contains("no provider could ever register"));

    let bad = GenesisError::Param {
        field: "market.engine_classes",
        allowed: format!("1..={ENGINE_CLASSES_MAX} distinct classes, none zero"),
    };
    let mut g = base();
    g.params.market.engine_classes.push(Hash32::ZERO);
    assert_eq!(genesis_writes(&g).expect_err("zero"), bad);
    let mut g = base();
    g.params
        .market
        .engine_classes
        .push(engine_class(ENGINE_CLASS_DEFAULT));
    assert_eq!(genesis_writes(&g).expect_err("twice"), bad);
    let mut g = base();
    g.params.market.engine_classes = (0..=ENGINE_CLASSES_MAX)
        .map(|i| engine_class(&format!("release {i}")))
        .collect();
    assert_eq!(genesis_writes(&g).expect_err("too many"), bad);
    g.params.market.engine_classes.pop();
    assert!(genesis_writes(&g).is_ok(), "exactly the most is allowed");
}
