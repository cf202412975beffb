"""The emulator's own tests: real HTTP to a local emulator, nothing from the tap."""
