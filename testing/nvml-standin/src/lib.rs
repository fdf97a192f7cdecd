//! A stand-in `libnvidia-ml.so` for tests: it exports the NVML C functions that
//! hoeveel's NVML sensor calls through nvml-wrapper, and answers them from a
//! scripted trace instead of a GPU. Machines without an NVIDIA GPU (development
//! and CI VMs) can so run the real sensor code, nvml-wrapper and libloading
//! included, against known energies.
//!
//! # Where the script comes from
//!
//! `nvmlInit_v2` reads the script named by the environment variable
//! `NVML_STANDIN_SCRIPT`; when that is not set, the file `nvml-standin.script`
//! in the directory this library was loaded from. Tests copy the library into a
//! temporary directory with a script beside it: every copy is a separate
//! library for the dynamic loader, with its own state, so tests can run in
//! parallel threads of one process.
//!
//! # Script format
//!
//! One `key = value` per line, `#` starts a comment. Lines before the first
//! `[device]` describe the library, each `[device]` section one GPU (index 0,
//! 1, ... in order).
//!
//! ```text
//! init_return = 0                  # nvmlReturn_t of nvmlInit_v2 (9: driver not loaded)
//!
//! [device]
//! name = NVIDIA A100-SXM4-40GB
//! uuid = GPU-0a1b2c3d-0000-0000-0000-000000000000
//! bus_id = 00000000:07:00.0
//! power_limit_mw = 400000          # or `unsupported`
//! energy_mj = 1000 2000 3500       # or `unsupported` (pre-Volta GPUs)
//! power_mw = 60000 80000           # or `unsupported`
//! lost_after = 3                   # optional
//! ```
//!
//! Successive calls of `nvmlDeviceGetTotalEnergyConsumption` return the
//! successive `energy_mj` values, and likewise for `nvmlDeviceGetPowerUsage`
//! and `power_mw`; after the last value the last one repeats. With
//! `lost_after = N`, the device answers N readings (energy and power calls
//! together) and then behaves as a GPU that fell off the bus: every query
//! returns `NVML_ERROR_GPU_IS_LOST`.
//!
//! Two functions that NVML does not have, `nvml_standin_energy_calls` and
//! `nvml_standin_power_calls`, count the calls of the energy and power queries
//! over every device since `nvmlInit`, for tests of how often a caller reads
//! them (load the same library path with `dlopen` to reach them).
//!
//! A script that cannot be read or parsed makes `nvmlInit_v2` print the file,
//! line and problem on stderr and return `NVML_ERROR_UNKNOWN`.
//!
//! Return codes and struct layouts follow NVIDIA's `nvml.h` as bound by the
//! `nvml-wrapper-sys` crate.

#![allow(non_snake_case)] // the exported names are NVML's

use std::ffi::{CStr, c_char, c_int, c_uint, c_ulonglong, c_void};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// `nvmlReturn_t` values (nvml.h, `nvmlReturn_enum`).
pub type NvmlReturn = c_uint;
pub const NVML_SUCCESS: NvmlReturn = 0;
pub const NVML_ERROR_UNINITIALIZED: NvmlReturn = 1;
pub const NVML_ERROR_INVALID_ARGUMENT: NvmlReturn = 2;
pub const NVML_ERROR_NOT_SUPPORTED: NvmlReturn = 3;
pub const NVML_ERROR_INSUFFICIENT_SIZE: NvmlReturn = 7;
pub const NVML_ERROR_GPU_IS_LOST: NvmlReturn = 15;
pub const NVML_ERROR_UNKNOWN: NvmlReturn = 999;

/// The environment variable that names the script.
pub const SCRIPT_ENV: &str = "NVML_STANDIN_SCRIPT";
/// The script's file name when it lies next to the library.
pub const SCRIPT_FILE_NAME: &str = "nvml-standin.script";

/// `nvmlPciInfo_t` (nvml.h; the layout `nvmlDeviceGetPciInfo_v3` fills).
#[repr(C)]
pub struct NvmlPciInfo {
    pub bus_id_legacy: [c_char; 16],
    pub domain: c_uint,
    pub bus: c_uint,
    pub device: c_uint,
    pub pci_device_id: c_uint,
    pub pci_sub_system_id: c_uint,
    pub bus_id: [c_char; 32],
}

/// A value NVML reports, or `NVML_ERROR_NOT_SUPPORTED`.
#[derive(Debug, Clone, PartialEq)]
enum Scripted<T> {
    Unsupported,
    Values(Vec<T>),
}

#[derive(Debug, Clone)]
struct Device {
    name: String,
    uuid: String,
    bus_id: String,
    power_limit_mw: Scripted<u32>,
    energy_mj: Scripted<u64>,
    power_mw: Scripted<u32>,
    lost_after: Option<u64>,
    // Replay state.
    energy_calls: usize,
    power_calls: usize,
    readings: u64,
}

impl Device {
    fn new() -> Device {
        Device {
            name: "Stand-in GPU".to_string(),
            uuid: String::new(),
            bus_id: String::new(),
            power_limit_mw: Scripted::Unsupported,
            energy_mj: Scripted::Unsupported,
            power_mw: Scripted::Unsupported,
            lost_after: None,
            energy_calls: 0,
            power_calls: 0,
            readings: 0,
        }
    }

    fn lost(&self) -> bool {
        self.lost_after.is_some_and(|n| self.readings >= n)
    }
}

#[derive(Debug)]
struct Script {
    init_return: NvmlReturn,
    devices: Vec<Device>,
}

struct State {
    /// nvmlInit/nvmlShutdown pairs outstanding (NVML counts them too).
    refcount: u32,
    script: Option<Script>,
}

static STATE: Mutex<State> = Mutex::new(State {
    refcount: 0,
    script: None,
});

fn state() -> MutexGuard<'static, State> {
    // A panic while holding the lock cannot leave the replay state half
    // updated in a way that matters to a test; keep answering.
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

fn parse_values<T: std::str::FromStr>(value: &str) -> Result<Scripted<T>, String> {
    if value == "unsupported" {
        return Ok(Scripted::Unsupported);
    }
    let values = value
        .split_whitespace()
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| format!("`{v}` is not a non-negative integer"))
        })
        .collect::<Result<Vec<T>, String>>()?;
    if values.is_empty() {
        return Err("expected at least one value or `unsupported`".to_string());
    }
    Ok(Scripted::Values(values))
}

fn parse_script(text: &str) -> Result<Script, (usize, String)> {
    let mut script = Script {
        init_return: NVML_SUCCESS,
        devices: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if line == "[device]" {
            script.devices.push(Device::new());
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err((line_no, format!("expected `key = value`, got `{line}`")));
        };
        let (key, value) = (key.trim(), value.trim());
        let err = |m: String| (line_no, format!("{key}: {m}"));
        match (script.devices.last_mut(), key) {
            (None, "init_return") => {
                script.init_return = value
                    .parse()
                    .map_err(|_| err(format!("`{value}` is not an nvmlReturn_t")))?;
            }
            (None, _) => {
                return Err((
                    line_no,
                    format!("unknown library key `{key}` (known: init_return)"),
                ));
            }
            (Some(d), "name") => d.name = value.to_string(),
            (Some(d), "uuid") => d.uuid = value.to_string(),
            (Some(d), "bus_id") => d.bus_id = value.to_string(),
            (Some(d), "power_limit_mw") => d.power_limit_mw = parse_values(value).map_err(err)?,
            (Some(d), "energy_mj") => d.energy_mj = parse_values(value).map_err(err)?,
            (Some(d), "power_mw") => d.power_mw = parse_values(value).map_err(err)?,
            (Some(d), "lost_after") => {
                d.lost_after = Some(
                    value
                        .parse()
                        .map_err(|_| err(format!("`{value}` is not a count")))?,
                );
            }
            (Some(_), _) => {
                return Err((
                    line_no,
                    format!(
                        "unknown device key `{key}` (known: name, uuid, bus_id, power_limit_mw, energy_mj, power_mw, lost_after)"
                    ),
                ));
            }
        }
    }
    Ok(script)
}

/// The directory this library was loaded from, through `dladdr` on one of
/// its own functions.
fn own_directory() -> Option<PathBuf> {
    #[repr(C)]
    struct DlInfo {
        dli_fname: *const c_char,
        dli_fbase: *mut c_void,
        dli_sname: *const c_char,
        dli_saddr: *mut c_void,
    }
    unsafe extern "C" {
        fn dladdr(addr: *const c_void, info: *mut DlInfo) -> c_int;
    }
    let mut info = DlInfo {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    let probe = own_directory as fn() -> Option<PathBuf>;
    // SAFETY: dladdr only reads the address and fills `info`.
    let found = unsafe { dladdr(probe as *const c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr returned a NUL-terminated path owned by the loader.
    let file = unsafe { CStr::from_ptr(info.dli_fname) };
    let path = Path::new(std::ffi::OsStr::new(
        file.to_str().ok()?, // library paths in tests are UTF-8
    ));
    path.parent().map(Path::to_path_buf)
}

fn script_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(SCRIPT_ENV) {
        return Some(PathBuf::from(p));
    }
    own_directory().map(|d| d.join(SCRIPT_FILE_NAME))
}

fn load_script() -> Result<Script, String> {
    let path = script_path().ok_or_else(|| {
        format!("no script: set {SCRIPT_ENV} or put {SCRIPT_FILE_NAME} next to the library")
    })?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_script(&text).map_err(|(line, m)| format!("{}:{line}: {m}", path.display()))
}

/// Runs `f` on the device a handle names, or returns the NVML error code.
fn with_device(handle: *mut c_void, f: impl FnOnce(&mut Device) -> NvmlReturn) -> NvmlReturn {
    let mut st = state();
    if st.refcount == 0 {
        return NVML_ERROR_UNINITIALIZED;
    }
    let Some(script) = st.script.as_mut() else {
        return NVML_ERROR_UNINITIALIZED;
    };
    // Handles are index + 1, so that a null handle is invalid.
    let index = (handle as usize).wrapping_sub(1);
    match script.devices.get_mut(index) {
        Some(d) => f(d),
        None => NVML_ERROR_INVALID_ARGUMENT,
    }
}

/// Copies `text` with its NUL into a caller's buffer of `length` bytes.
///
/// # Safety
/// `buf` must be null or point to `length` writable bytes.
unsafe fn copy_string(text: &str, buf: *mut c_char, length: c_uint) -> NvmlReturn {
    if buf.is_null() {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    let bytes = text.as_bytes();
    if bytes.len() + 1 > length as usize {
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    // SAFETY: the caller's buffer holds `length` >= len + 1 bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), buf, bytes.len());
        *buf.add(bytes.len()) = 0;
    }
    NVML_SUCCESS
}

/// Writes `value` through `out` when `code` is success.
///
/// # Safety
/// `out` must be null or valid for a write of `T`.
unsafe fn answer<T>(out: *mut T, result: Result<T, NvmlReturn>) -> NvmlReturn {
    if out.is_null() {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    match result {
        Ok(v) => {
            // SAFETY: checked non-null; the caller passes a valid out pointer.
            unsafe { out.write(v) };
            NVML_SUCCESS
        }
        Err(code) => code,
    }
}

fn replay<T: Copy>(values: &Scripted<T>, calls: &mut usize) -> Result<T, NvmlReturn> {
    match values {
        Scripted::Unsupported => Err(NVML_ERROR_NOT_SUPPORTED),
        Scripted::Values(v) => {
            let value = v[(*calls).min(v.len() - 1)];
            *calls += 1;
            Ok(value)
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn nvmlInit_v2() -> NvmlReturn {
    let mut st = state();
    if st.refcount == 0 {
        match load_script() {
            Ok(script) => {
                if script.init_return != NVML_SUCCESS {
                    return script.init_return;
                }
                st.script = Some(script);
            }
            Err(message) => {
                eprintln!("nvml-standin: {message}");
                return NVML_ERROR_UNKNOWN;
            }
        }
    }
    st.refcount += 1;
    NVML_SUCCESS
}

#[unsafe(no_mangle)]
pub extern "C" fn nvmlInitWithFlags(_flags: c_uint) -> NvmlReturn {
    nvmlInit_v2()
}

#[unsafe(no_mangle)]
pub extern "C" fn nvmlShutdown() -> NvmlReturn {
    let mut st = state();
    if st.refcount == 0 {
        return NVML_ERROR_UNINITIALIZED;
    }
    st.refcount -= 1;
    if st.refcount == 0 {
        st.script = None;
    }
    NVML_SUCCESS
}

#[unsafe(no_mangle)]
pub extern "C" fn nvmlErrorString(result: NvmlReturn) -> *const c_char {
    let text: &'static CStr = match result {
        NVML_SUCCESS => c"Success",
        NVML_ERROR_UNINITIALIZED => c"Uninitialized",
        NVML_ERROR_INVALID_ARGUMENT => c"Invalid Argument",
        NVML_ERROR_NOT_SUPPORTED => c"Not Supported",
        NVML_ERROR_INSUFFICIENT_SIZE => c"Insufficient Size",
        NVML_ERROR_GPU_IS_LOST => c"GPU is lost",
        _ => c"Unknown Error",
    };
    text.as_ptr()
}

/// # Safety
/// `version` must be null or point to `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlSystemGetDriverVersion(
    version: *mut c_char,
    length: c_uint,
) -> NvmlReturn {
    if state().refcount == 0 {
        return NVML_ERROR_UNINITIALIZED;
    }
    // SAFETY: forwarded from the caller.
    unsafe { copy_string("0.0.0-standin", version, length) }
}

/// # Safety
/// `count` must be null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetCount_v2(count: *mut c_uint) -> NvmlReturn {
    let st = state();
    let result = match (&st.script, st.refcount) {
        (Some(s), 1..) => Ok(s.devices.len() as c_uint),
        _ => Err(NVML_ERROR_UNINITIALIZED),
    };
    // SAFETY: forwarded from the caller.
    unsafe { answer(count, result) }
}

/// # Safety
/// `device` must be null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetHandleByIndex_v2(
    index: c_uint,
    device: *mut *mut c_void,
) -> NvmlReturn {
    let st = state();
    let result = match (&st.script, st.refcount) {
        (Some(s), 1..) if (index as usize) < s.devices.len() => {
            Ok((index as usize + 1) as *mut c_void)
        }
        (Some(_), 1..) => Err(NVML_ERROR_INVALID_ARGUMENT),
        _ => Err(NVML_ERROR_UNINITIALIZED),
    };
    // SAFETY: forwarded from the caller.
    unsafe { answer(device, result) }
}

/// # Safety
/// `name` must be null or point to `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetName(
    device: *mut c_void,
    name: *mut c_char,
    length: c_uint,
) -> NvmlReturn {
    with_device(device, |d| {
        if d.lost() {
            return NVML_ERROR_GPU_IS_LOST;
        }
        // SAFETY: forwarded from the caller.
        unsafe { copy_string(&d.name, name, length) }
    })
}

/// # Safety
/// `uuid` must be null or point to `length` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetUUID(
    device: *mut c_void,
    uuid: *mut c_char,
    length: c_uint,
) -> NvmlReturn {
    with_device(device, |d| {
        if d.lost() {
            return NVML_ERROR_GPU_IS_LOST;
        }
        // SAFETY: forwarded from the caller.
        unsafe { copy_string(&d.uuid, uuid, length) }
    })
}

/// Parses `domain:bus:device.function` (hex), as NVML prints bus ids.
fn pci_location(bus_id: &str) -> (c_uint, c_uint, c_uint) {
    let mut parts = bus_id.split([':', '.']);
    let mut next = || {
        parts
            .next()
            .and_then(|p| c_uint::from_str_radix(p, 16).ok())
            .unwrap_or(0)
    };
    let (domain, bus, device) = (next(), next(), next());
    (domain, bus, device)
}

/// # Safety
/// `pci` must be null or valid for a write of `nvmlPciInfo_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetPciInfo_v3(
    device: *mut c_void,
    pci: *mut NvmlPciInfo,
) -> NvmlReturn {
    with_device(device, |d| {
        if d.lost() {
            return NVML_ERROR_GPU_IS_LOST;
        }
        let (domain, bus, dev) = pci_location(&d.bus_id);
        let mut info = NvmlPciInfo {
            bus_id_legacy: [0; 16],
            domain,
            bus,
            device: dev,
            pci_device_id: 0,
            pci_sub_system_id: 0,
            bus_id: [0; 32],
        };
        // SAFETY: both arrays are local and sized as passed.
        let code = unsafe { copy_string(&d.bus_id, info.bus_id.as_mut_ptr(), 32) };
        if code != NVML_SUCCESS {
            return code;
        }
        let legacy: String = d.bus_id.chars().take(15).collect();
        // SAFETY: as above; `legacy` has at most 15 bytes of ASCII bus id.
        unsafe { copy_string(&legacy, info.bus_id_legacy.as_mut_ptr(), 16) };
        // SAFETY: forwarded from the caller.
        unsafe { answer(pci, Ok(info)) }
    })
}

fn power_limit(device: *mut c_void, limit: *mut c_uint) -> NvmlReturn {
    with_device(device, |d| {
        if d.lost() {
            return NVML_ERROR_GPU_IS_LOST;
        }
        let mut calls = 0;
        let result = replay(&d.power_limit_mw, &mut calls);
        // SAFETY: forwarded from the caller.
        unsafe { answer(limit, result) }
    })
}

/// # Safety
/// `limit` must be null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetEnforcedPowerLimit(
    device: *mut c_void,
    limit: *mut c_uint,
) -> NvmlReturn {
    power_limit(device, limit)
}

/// # Safety
/// `limit` must be null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetPowerManagementLimit(
    device: *mut c_void,
    limit: *mut c_uint,
) -> NvmlReturn {
    power_limit(device, limit)
}

/// # Safety
/// `energy` must be null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetTotalEnergyConsumption(
    device: *mut c_void,
    energy: *mut c_ulonglong,
) -> NvmlReturn {
    with_device(device, |d| {
        if d.lost() {
            return NVML_ERROR_GPU_IS_LOST;
        }
        let result = replay(&d.energy_mj, &mut d.energy_calls);
        if result.is_ok() {
            d.readings += 1;
        }
        // SAFETY: forwarded from the caller.
        unsafe { answer(energy, result) }
    })
}

/// # Safety
/// `power` must be null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvmlDeviceGetPowerUsage(
    device: *mut c_void,
    power: *mut c_uint,
) -> NvmlReturn {
    with_device(device, |d| {
        if d.lost() {
            return NVML_ERROR_GPU_IS_LOST;
        }
        let result = replay(&d.power_mw, &mut d.power_calls);
        if result.is_ok() {
            d.readings += 1;
        }
        // SAFETY: forwarded from the caller.
        unsafe { answer(power, result) }
    })
}

/// Calls of `nvmlDeviceGetTotalEnergyConsumption`, every device, since `nvmlInit`.
#[unsafe(no_mangle)]
pub extern "C" fn nvml_standin_energy_calls() -> c_ulonglong {
    calls(|d| d.energy_calls)
}

/// Calls of `nvmlDeviceGetPowerUsage`, every device, since `nvmlInit`.
#[unsafe(no_mangle)]
pub extern "C" fn nvml_standin_power_calls() -> c_ulonglong {
    calls(|d| d.power_calls)
}

fn calls(of: impl Fn(&Device) -> usize) -> c_ulonglong {
    state().script.as_ref().map_or(0, |s| {
        s.devices.iter().map(&of).sum::<usize>() as c_ulonglong
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_library_and_devices() {
        let script = parse_script(
            "init_return = 0\n[device]\nname = A # comment\nenergy_mj = 1 2 3\npower_mw = unsupported\nlost_after = 2\n[device]\nname = B\n",
        )
        .expect("parses");
        assert_eq!(script.devices.len(), 2);
        assert_eq!(script.devices[0].name, "A");
        assert_eq!(script.devices[0].energy_mj, Scripted::Values(vec![1, 2, 3]));
        assert_eq!(script.devices[0].power_mw, Scripted::Unsupported);
        assert_eq!(script.devices[0].lost_after, Some(2));
        assert_eq!(script.devices[1].energy_mj, Scripted::Unsupported);
    }

    #[test]
    fn bad_lines_name_the_line() {
        let err = parse_script("[device]\nenergy_mj = 1 x\n").expect_err("bad value");
        assert_eq!(err.0, 2);
        assert!(err.1.contains("`x`"), "{}", err.1);
        let err = parse_script("[device]\nwatts = 3\n").expect_err("unknown key");
        assert!(err.1.contains("unknown device key `watts`"), "{}", err.1);
        let err = parse_script("name = A\n").expect_err("key outside a device");
        assert_eq!(err.0, 1);
    }

    #[test]
    fn replay_holds_the_last_value() {
        let values = Scripted::Values(vec![5u64, 7]);
        let mut calls = 0;
        let got: Vec<u64> = (0..4)
            .map(|_| replay(&values, &mut calls).expect("value"))
            .collect();
        assert_eq!(got, [5, 7, 7, 7]);
        assert_eq!(
            replay(&Scripted::<u64>::Unsupported, &mut calls),
            Err(NVML_ERROR_NOT_SUPPORTED)
        );
    }

    #[test]
    fn bus_id_location() {
        assert_eq!(pci_location("00000000:65:00.0"), (0, 0x65, 0));
        assert_eq!(pci_location("0001:0A:1F.0"), (1, 0x0a, 0x1f));
    }
}
