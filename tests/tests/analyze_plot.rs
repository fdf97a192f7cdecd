//! `hoeveel plot` writes SVG and PNG charts and refuses formats it cannot write.

mod analyze_support;

use analyze_support::*;
use hoeveel_record::Provenance;

#[test]
fn plot_writes_power_and_sites_charts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (llm, _) = llm_and_search(dir.path(), Provenance::Modelled);
    let l = llm.to_str().expect("l");
    let power = dir.path().join("power.svg");
    let o = run(&["plot", l, "-o", power.to_str().expect("p")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&power).expect("svg");
    assert!(svg.starts_with("<svg") && svg.contains("data-chart=\"power\""));
    assert!(
        svg.contains("data-phase=\"baseline\"")
            && svg.contains("data-phase=\"warm-up\"")
            && svg.contains("data-phase=\"repetition\"")
    );
    assert!(
        svg.contains("class=\"baseline\""),
        "the idle baseline is drawn"
    );
    assert!(svg.contains("[modelled]"), "the chart says modelled");

    let sites = dir.path().join("sites.svg");
    let o = run(&[
        "plot",
        l,
        "-o",
        sites.to_str().expect("s"),
        "--chart",
        "sites",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&sites).expect("svg");
    assert!(svg.matches("class=\"bar\"").count() >= 15);
    assert!(
        svg.contains("class=\"range\""),
        "AWS ranges are drawn as whiskers"
    );

    let png = dir.path().join("sites.png");
    let o = run(&[
        "plot",
        l,
        "-o",
        png.to_str().expect("png"),
        "--chart",
        "sites",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&png).expect("png");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 5_000, "a rendered chart, not an empty image");

    let o = run(&[
        "plot",
        l,
        "-o",
        dir.path().join("x.pdf").to_str().expect("pdf"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("must end in .svg or .png"),
        "{}",
        stderr(&o)
    );
}
