//! SVG to PNG for `hoeveel plot -o chart.png`, with resvg (pure Rust: no browser,
//! no native library). Labels are drawn with the system's fonts; without any font
//! the labels would vanish silently, so that is an error that says what to install.

use anyhow::{Context, anyhow, bail};
use resvg::{tiny_skia, usvg};

/// Pixels per SVG unit: 2 gives a sharp image on high-density screens.
pub const SCALE: f32 = 2.0;

/// Families tried, in order, for the charts' generic `sans-serif`.
const SANS: [&str; 5] = [
    "DejaVu Sans",
    "Liberation Sans",
    "Noto Sans",
    "Arial",
    "Helvetica",
];

fn options() -> anyhow::Result<usvg::Options<'static>> {
    let mut opt = usvg::Options::default();
    let db = opt.fontdb_mut();
    db.load_system_fonts();
    let families: Vec<String> = db
        .faces()
        .flat_map(|f| f.families.iter().map(|(name, _)| name.clone()))
        .collect();
    // fontdb maps `sans-serif` to Arial by default; on most Linux systems that is
    // absent and text would be dropped, so map it to a family that exists.
    let Some(sans) = SANS
        .iter()
        .find(|s| families.iter().any(|f| f == *s))
        .map(|s| s.to_string())
        .or_else(|| families.first().cloned())
    else {
        bail!(
            "no system fonts found, so the chart's labels cannot be drawn; install one (for example `apt-get install fonts-dejavu-core`) or write .svg"
        );
    };
    db.set_sans_serif_family(sans);
    Ok(opt)
}

/// The chart rendered on a white background.
pub fn render(svg: &str) -> anyhow::Result<tiny_skia::Pixmap> {
    let opt = options()?;
    let tree = usvg::Tree::from_str(svg, &opt).context("the chart is not valid SVG")?;
    let size = tree.size();
    let (w, h) = (
        (size.width() * SCALE).ceil() as u32,
        (size.height() * SCALE).ceil() as u32,
    );
    let mut pixmap = tiny_skia::Pixmap::new(w.max(1), h.max(1))
        .ok_or_else(|| anyhow!("cannot allocate a {w} x {h} image"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap)
}

pub fn png(svg: &str) -> anyhow::Result<Vec<u8>> {
    render(svg)?.encode_png().context("cannot encode the PNG")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_drawn() {
        // Only text: if no font resolves, the image stays white.
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40" font-family="sans-serif" font-size="20"><text x="5" y="28">hoeveel 288</text></svg>"#;
        match render(svg) {
            Ok(p) => {
                let dark = p.pixels().iter().filter(|c| c.red() < 128).count();
                assert!(dark > 50, "the label was not drawn ({dark} dark pixels)");
            }
            Err(e) => assert!(e.to_string().contains("no system fonts"), "{e}"),
        }
    }
}
