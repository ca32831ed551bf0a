"""`python -m imgtool.main`: espboot's imgtool personality."""

if __name__ == "__main__":
    from espboot_shims import run

    run("imgtool")
