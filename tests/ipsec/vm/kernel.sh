#!/usr/bin/env bash
# tests/ipsec/vm/kernel.sh - make sure a bootable Debian kernel and a small
# initramfs are cached, and print the directory that holds them.
#
#   kernel.sh            print the cache directory (fetch and build if needed)
#
# The kernel is Debian's stock linux-image-amd64, resolved through the meta
# package because the ABI number (6.1.0-NN) moves with every point release.
# Only two files are kept: vmlinuz and an initramfs holding busybox-static,
# the modules the ESP tests need (in load order) and the tiny /init below.
# Everything else about a run (what to execute inside) comes from the
# repository through 9p, so changing a test never invalidates the cache.
#
# Cache: $SIMREG_VM_CACHE, default ~/.cache/simreg/vm/<kernel package>.r<rev>/,
# one directory per initramfs revision, so that trees (branches, clones)
# with different module lists never rebuild, or pull from under a running
# VM, each other's initramfs.
# Exit status: 0 and the directory on stdout; 1 with the reason on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${SIMREG_VM_CACHE:-${HOME:-/root}/.cache/simreg/vm}

say() { echo "vm-kernel: $*" >&2; }

# ESP transport mode with cbc(aes)/cbc(des3_ede) + hmac(sha1)/hmac(md5),
# virtio 9p for the shares, veth for the two namespaces, tun for the
# userspace backend's TCP. drbg and its helpers are the trap of
# kernel-esp-in-qemu.md: without the default RNG every NEWSA with cbc(aes)
# fails although /proc/crypto lists the cipher.
modules=(virtio_pci 9pnet_virtio 9p xfrm_user esp4 esp6 authenc echainiv
	 sha512_generic sha3_generic jitterentropy_rng ctr drbg veth tun
	 des3_ede_generic md5 sha1_generic hmac cbc aes_generic)

# Bump when the initramfs layout or /init changes.
initramfs_rev=5

pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
if [ -z "$pkg" ]; then
	say "apt does not know linux-image-amd64 yet; running apt-get update"
	apt-get update -qq >&2 || true
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
fi
if [ -z "$pkg" ]; then
	# Offline with an old cache: use the newest kernel already there.
	dir=$(ls -d "$cache_root"/linux-image-*.r$initramfs_rev/ 2>/dev/null | sort -V | tail -1 || true)
	if [ -n "$dir" ] && [ -f "$dir/ready.$initramfs_rev" ]; then
		echo "${dir%/}"
		exit 0
	fi
	say "cannot resolve linux-image-amd64 through apt and nothing is cached"
	exit 1
fi

dir=$cache_root/$pkg.r$initramfs_rev
if [ -f "$dir/ready.$initramfs_rev" ]; then
	echo "$dir"
	exit 0
fi

for tool in busybox dpkg-deb depmod modprobe; do
	command -v "$tool" >/dev/null ||
		{ say "$tool is missing (scripts/deps.sh installs busybox-static, kmod)"; exit 1; }
done
busybox_bin=$(command -v busybox)
if ! file "$busybox_bin" 2>/dev/null | grep -q 'statically linked' &&
   ! ldd "$busybox_bin" 2>&1 | grep -q 'not a dynamic'; then
	say "$busybox_bin is not static (install busybox-static)"
	exit 1
fi

mkdir -p "$cache_root"
work=$(mktemp -d "$cache_root/.build.XXXXXX")
# apt-get download drops privileges to _apt where it can write.
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

say "downloading $pkg (about 70 MB, once)"
if ! (cd "$work" && apt-get download -q "$pkg" >&2); then
	# Stale package lists name a version the mirror no longer has.
	say "download failed; refreshing the package lists and trying again"
	apt-get update -qq >&2 || true
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	dir=$cache_root/$pkg.r$initramfs_rev
	(cd "$work" && apt-get download -q "$pkg" >&2) || { say "cannot download $pkg"; exit 1; }
fi
deb=$(ls "$work"/*.deb)
dpkg-deb -x "$deb" "$work/x"
kver=$(ls "$work/x/lib/modules")
[ -n "$kver" ] || { say "no modules directory in $deb"; exit 1; }

depmod -b "$work/x" "$kver"
root=$work/initramfs
mkdir -p "$root"/{bin,dev,proc,sys,host,results,mods}
cp "$busybox_bin" "$root/bin/busybox"
: >"$root/mods/order"
for m in "${modules[@]}"; do
	# --show-depends prints "insmod PATH" in load order, or "builtin NAME".
	modprobe -d "$work/x" -S "$kver" --show-depends "$m" |
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		base=$(basename "$path")
		grep -qx "$base" "$root/mods/order" && continue
		case $base in
		*.ko.xz) xz -dc "$path" >"$root/mods/${base%.xz}"; base=${base%.xz} ;;
		*.ko.zst) zstd -qdc "$path" >"$root/mods/${base%.zst}"; base=${base%.zst} ;;
		*) cp "$path" "$root/mods/$base" ;;
		esac
		echo "$base" >>"$root/mods/order"
	done
done
cp "$here/init" "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$work/initramfs.gz")

mkdir -p "$dir"
cp "$work/x/boot/vmlinuz-$kver" "$dir/vmlinuz"
cp "$work/initramfs.gz" "$dir/initramfs.gz"
echo "$kver" >"$dir/version"
cp "$root/mods/order" "$dir/modules"
rm -f "$dir"/ready.*
touch "$dir/ready.$initramfs_rev"
say "cached $pkg ($kver) in $dir: $(wc -l <"$dir/modules") modules"
echo "$dir"
