// removed once the rootfs files land
