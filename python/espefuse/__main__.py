from espboot_shims import run

run("espefuse")
