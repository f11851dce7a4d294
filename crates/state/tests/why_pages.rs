//! `why` a page at a time: a job of many tasks is explained in bounded pages that join up to
//! exactly the whole explanation, each page no longer than asked.

use yun_state::market::why::{explain_job, explain_job_page};
use yun_state::scenario::Scenario;
use yun_state::scenario_market::{job_spec, offer};

#[test]
fn a_job_of_300_tasks_is_explained_in_pages_that_join_to_the_whole() {
    let mut s = Scenario::new();
    s.fund("alice", 100_000_000_000).fund("p1", 10_000_000);
    s.tx("p1").act(offer().register(1_000_000)).expect_ok();
    let job = s
        .post(&job_spec().tasks(300).bid(10), "alice")
        .expect_ok()
        .tx_id;
    let params = s.params.clone();
    let whole = explain_job(&s.view(), &params, &job).expect("a posted job");
    assert_eq!(whole.len(), 300, "every task waits");

    let (first, next) = explain_job_page(&s.view(), &params, &job, None, 256).unwrap();
    assert_eq!((first.len(), next), (256, Some(255)));
    let (rest, next) = explain_job_page(&s.view(), &params, &job, Some(255), 256).unwrap();
    assert_eq!((rest.len(), next), (44, None));
    let joined: Vec<u32> = first.iter().chain(&rest).map(|t| t.index).collect();
    let expected: Vec<u32> = whole.iter().map(|t| t.index).collect();
    assert_eq!(joined, expected);
    assert_eq!(rest[0].reason, whole[256].reason);

    // A page of one after the last task is empty and final.
    let (none, next) = explain_job_page(&s.view(), &params, &job, Some(299), 1).unwrap();
    assert!(none.is_empty() && next.is_none());
}
