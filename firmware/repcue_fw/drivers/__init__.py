# Chip drivers for the boards that have the parts (CONTRACT of issue 14): st7789 (SPI colour
# panel), ssd1306 (I2C 128x64 OLED), drv2605 (I2C haptics), axp2101 (I2C PMU). Only the
# board profile that uses one imports it (boards/parts.py), and `repcue firmware build
# --board NAME` copies only the ones that board uses.
