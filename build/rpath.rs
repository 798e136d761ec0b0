//! Build script shared by the crates whose binaries link libtorch: `torch-sys` publishes
//! libtorch's library folder (`links = "tch"`), and an rpath lets the binaries and test
//! executables start without `LD_LIBRARY_PATH`.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
