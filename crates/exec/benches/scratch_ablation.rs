#![allow(missing_docs, clippy::all)]
// TEMPORARY diagnostic, not to be committed.
use std::time::{Duration, Instant};
use wasmtime::{Config, Engine, Linker, Module, OptLevel, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

fn cfg(fuel: bool, epoch: bool, nan: bool) -> Config {
    let mut c = Config::new();
    c.consume_fuel(fuel)
        .epoch_interruption(epoch)
        .cranelift_nan_canonicalization(nan)
        .cranelift_opt_level(OptLevel::Speed)
        .wasm_relaxed_simd(false)
        .relaxed_simd_deterministic(true)
        .wasm_simd(true)
        .max_wasm_stack(1024 * 1024);
    c
}

fn time(engine: &Engine, module: &Module, args: &[&str], fuel: bool, epoch: bool) -> Duration {
    let mut linker: Linker<WasiP1Ctx> = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h| h).unwrap();
    let pre = linker.instantiate_pre(module).unwrap();
    let mut v = Vec::new();
    for _ in 0..3 {
        let mut argv = vec!["job"];
        argv.extend_from_slice(args);
        let out = MemoryOutputPipe::new(1 << 20);
        let wasi = WasiCtxBuilder::new().args(&argv).stdout(out.clone()).build_p1();
        let mut store = Store::new(engine, wasi);
        if fuel {
            store.set_fuel(1 << 40).unwrap();
        }
        if epoch {
            store.set_epoch_deadline(1 << 40);
        }
        let t = Instant::now();
        let inst = pre.instantiate(&mut store).unwrap();
        let f = inst.get_typed_func::<(), ()>(&mut store, "_start").unwrap();
        f.call(&mut store, ()).unwrap();
        v.push(t.elapsed());
        if v.len() == 1 {
            eprint!("[{}] ", String::from_utf8_lossy(&out.contents()).trim());
        }
    }
    v.sort();
    v[1]
}

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest/target/wasm32-wasip1/release/");
    let cases: &[(&str, &[&str])] = &[
        ("pi", &["--samples", "100000000", "--seed", "42"]),
        ("matmul", &["--n", "512"]),
        ("mandelbrot", &["--width", "1024", "--height", "1024", "--max-iter", "1000"]),
        ("sha256chain", &["--iterations", "1000000"]),
    ];
    let configs = [
        ("sandbox (fuel,epoch,nan)", true, true, true),
        ("no nan-canon", true, true, false),
        ("no epoch", true, false, true),
        ("fuel only off", false, true, true),
        ("plain (none)", false, false, false),
    ];
    for (name, args) in cases {
        let bytes = std::fs::read(format!("{dir}{name}.wasm")).unwrap();
        for (cname, fuel, epoch, nan) in configs {
            let engine = Engine::new(&cfg(fuel, epoch, nan)).unwrap();
            let module = Module::new(&engine, &bytes).unwrap();
            let d = time(&engine, &module, args, fuel, epoch);
            eprintln!("{name:12} {cname:28} {:8.1} ms", d.as_secs_f64() * 1e3);
            if *name == "pi" || *name == "matmul" {
                let elf = engine.precompile_module(&bytes).unwrap();
                std::fs::write(format!("/tmp/{name}-{}.elf", cname.replace([' ', '(', ')', ','], "_")), elf).unwrap();
            }
        }
    }
}
