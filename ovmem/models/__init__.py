"""Small built-in OpenVINO models: ovmem's demo model and the tests' fixtures."""
