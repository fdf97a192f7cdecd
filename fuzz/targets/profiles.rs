//! The profile loader: the bytes are one profile file (TOML) in a user's profile
//! folder, loaded over the shipped profiles as `ProfileSet::load` does; a file
//! that loads clean is then used as the analysis uses it.

use hoeveel_profiles::ProfileSet;

fn main() {
    let shipped = ProfileSet::shipped().expect("the shipped profiles load");
    afl::fuzz!(|data: &[u8]| {
        // `load` reads each file as UTF-8 text; anything else fails there.
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let mut set = shipped.clone();
        let mut problems = Vec::new();
        set.add_file("fuzz.toml", text, &mut problems);
        if !problems.is_empty() {
            let _ = hoeveel_profiles::ProfileErrors(problems).to_string();
            return;
        }
        for (site, _) in &set.sites {
            let _ = set.site_factor(site, hoeveel_profiles::GridChoice::Named);
            let _ = site.pue.display(2);
        }
        for (request, _) in &set.requests {
            let _ = request.energy_j();
            let _ = request.energy.display(2);
        }
        for (device, _) in &set.devices {
            let _ = device.value_in(2026);
            let _ = device.value.display(2);
        }
        for (grid, _) in &set.grid {
            let _ = set.grid_entry(&grid.id);
        }
        for (model, _) in &set.models {
            let _ = set.find(&model.id);
        }
    });
}
