#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /sys/fs/bpf /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount --make-rshared / 2>/dev/null
ip link set lo up
for m in @MODULES@; do insmod /lib/modules/$m 2>/dev/null; done
echo "@@@ KERNEL $(uname -r)"
export SEC_AGENT_BIN=/bin/sec-agent RUST_BACKTRACE=1 TMPDIR=/tmp
for t in @TESTS@; do
  echo "@@@ BEGIN $t"
  /tests/$t --test-threads=1@FILTER@ 2>&1
  echo "@@@ END $t rc=$?"
done
echo "@@@ DONE"
poweroff -f
