//! `--plot FILE.svg`: two panels, VMAs against N and median load time
//! against N (log-log), one line per loader, for lld-64k (else the first
//! configuration measured).

use crate::report::Report;
use plotters::prelude::*;
use std::path::Path;

const COLORS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
];

type Series = Vec<(String, Vec<(f64, f64)>)>;

fn series(r: &Report, cfg: &str, f: impl Fn(&crate::report::Row) -> Option<f64>) -> Series {
    let c = r.configs.iter().find(|c| c.config == cfg).unwrap();
    let mut out: Series = Vec::new();
    for row in c.rows.iter().filter(|row| row.n > 0) {
        let Some(y) = f(row) else { continue };
        match out.iter_mut().find(|(l, _)| *l == row.loader) {
            Some((_, v)) => v.push((row.n as f64, y)),
            None => out.push((row.loader.clone(), vec![(row.n as f64, y)])),
        }
    }
    out
}

fn panel(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    title: &str,
    ylabel: &str,
    data: &Series,
) -> Result<(), Box<dyn std::error::Error>> {
    let pts = data.iter().flat_map(|(_, v)| v.iter());
    let (mut xmax, mut ymin, mut ymax) = (1.0f64, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        xmax = xmax.max(x);
        ymin = ymin.min(y);
        ymax = ymax.max(y);
    }
    if ymin == f64::MAX {
        (ymin, ymax) = (1.0, 10.0);
    }
    let ymin = (ymin / 1.5).max(1e-3);
    let ymax = ymax * 1.5;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((0.7f64..xmax * 1.4).log_scale(), (ymin..ymax).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("N (libraries)")
        .y_desc(ylabel)
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| if *y >= 1.0 { format!("{y:.0}") } else { format!("{y:.1}") })
        .draw()?;
    for (i, (name, v)) in data.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        // Earlier lines wider, so a line hidden under a later one with the
        // same values (guard and extend have the same VMAs) still shows.
        let width = 2 + (data.len() - 1 - i) as u32;
        chart
            .draw_series(LineSeries::new(v.iter().copied(), color.stroke_width(width)))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(v.iter().map(|&(x, y)| Circle::new((x, y), 2 + width, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

pub fn plot(r: &Report, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let cfg = if r.configs.iter().any(|c| c.config == "lld-64k") {
        "lld-64k".to_string()
    } else {
        r.configs.first().ok_or("no configuration measured")?.config.clone()
    };
    let vmas = series(r, &cfg, |row| row.stat.as_ref().map(|s| s.vmas_total as f64));
    let times = series(r, &cfg, |row| row.median_ms);
    let root = SVGBackend::new(path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(36);
    top.titled(
        &format!("vmabench, {cfg}: glibc / musl ld.so vs guardld ({} runs, median)", r.runs),
        ("sans-serif", 22),
    )?;
    let panels = body.split_evenly((1, 2));
    panel(&panels[0], "VMAs in the process", "VMAs", &vmas)?;
    panel(&panels[1], "Load time (spawn to exit)", "median ms", &times)?;
    root.present()?;
    Ok(())
}
