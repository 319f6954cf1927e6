"""Checks of pxelab.qemu that need neither root nor a boot: command lines, ROMs, console text."""

import os
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from pxelab import qemu, testing  # noqa: E402

DEBIAN_VIRTIO_ROM = "/usr/lib/ipxe/virtio-net.rom"      # 1af4:1041 (modern virtio)
QEMU_E1000_ROM = "/usr/lib/ipxe/qemu/pxe-e1000.rom"      # 8086:100e


def device_arg(command):
    """The value of the -device option of a QEMU argv."""
    return command[command.index("-device") + 1]


def scratch(test):
    """A throwaway directory removed when TEST ends."""
    directory = tempfile.TemporaryDirectory(prefix="pxc-qemu-unit-")
    test.addCleanup(directory.cleanup)
    return directory.name


class CommandLineTest(unittest.TestCase):
    """Each profile's argv carries the firmware, NIC, identity and serial file it promises."""

    def vm(self, profile, **kwargs):
        """A VM (not started) in a throwaway directory."""
        return qemu.VM(profile, scratch(self), "tap7", **kwargs)

    def test_seabios_uses_graphics_off_and_the_default_rom(self):
        command = self.vm("seabios-virtio").command()
        self.assertEqual(command[command.index("-machine") + 1], "pc,graphics=off")
        self.assertNotIn("romfile", device_arg(command))
        self.assertNotIn("pflash", " ".join(command))
        self.assertEqual(command[command.index("-accel") + 1], "tcg")

    def test_ovmf_gets_readonly_code_and_a_private_vars_copy(self):
        vm = self.vm("ovmf-pxe-virtio")
        drives = [arg for arg in vm.command() if arg.startswith("if=pflash")]
        self.assertEqual(len(drives), 2)
        self.assertIn(f"readonly=on,file={qemu.OVMF_CODE}", drives[0])
        self.assertTrue(drives[1].endswith(f"file={vm.vars_path}"))
        self.assertNotEqual(vm.vars_path, qemu.OVMF_VARS)
        self.assertTrue(device_arg(vm.command()).endswith(",romfile="))

    def test_httpboot_disables_both_pxe_stacks_by_fw_cfg(self):
        command = self.vm("ovmf-httpboot").command()
        fw_cfg = [command[i + 1] for i, arg in enumerate(command) if arg == "-fw_cfg"]
        self.assertEqual(fw_cfg, ["name=opt/org.tianocore/IPv4PXESupport,string=n",
                                  "name=opt/org.tianocore/IPv6PXESupport,string=n"])

    def test_identity_rom_and_device_options_reach_the_command(self):
        command = self.vm("seabios-e1000", mac="52:54:00:77:00:42", uuid="11111111-2222-3333-4444-555555555555",
                          romfile=QEMU_E1000_ROM, device_options=("bootindex=1",)).command()
        self.assertEqual(device_arg(command),
                         f"e1000,netdev=net0,mac=52:54:00:77:00:42,bootindex=1,romfile={QEMU_E1000_ROM}")
        self.assertEqual(command[command.index("-uuid") + 1], "11111111-2222-3333-4444-555555555555")
        self.assertIn("tap,id=net0,ifname=tap7,script=no,downscript=no", command)

    def test_unknown_profile_names_the_known_ones(self):
        with self.assertRaises(KeyError) as caught:
            qemu.profile_named("coreboot")
        self.assertIn("seabios-virtio", str(caught.exception))


@unittest.skipUnless(os.path.exists(DEBIAN_VIRTIO_ROM) and os.path.exists(QEMU_E1000_ROM),
                     "Debian ipxe / ipxe-qemu ROMs not installed")
class RomCheckTest(unittest.TestCase):
    """A custom ROM SeaBIOS would skip is refused before QEMU starts."""

    def test_reads_pci_ids_of_every_image(self):
        self.assertEqual(qemu.rom_images(QEMU_E1000_ROM), [(0x8086, 0x100E, 0)])
        self.assertIn((0x1AF4, 0x1041, 0), qemu.rom_images(DEBIAN_VIRTIO_ROM))

    def test_modern_virtio_rom_needs_disable_legacy(self):
        with self.assertRaisesRegex(ValueError, "1af4:1000"):
            qemu.check_bios_rom(DEBIAN_VIRTIO_ROM, "virtio-net-pci")
        qemu.check_bios_rom(DEBIAN_VIRTIO_ROM, "virtio-net-pci", ("disable-legacy=on",))

    def test_rom_of_another_nic_is_refused(self):
        with self.assertRaises(ValueError):
            qemu.check_bios_rom(QEMU_E1000_ROM, "virtio-net-pci")
        qemu.check_bios_rom(QEMU_E1000_ROM, "e1000")

    def test_start_refuses_a_mismatched_rom(self):
        vm = qemu.VM("seabios-virtio", scratch(self), "tap7",
                     romfile=QEMU_E1000_ROM)
        with self.assertRaises(ValueError):
            vm.start()
        self.assertIsNone(vm.process)


class ConsoleTest(unittest.TestCase):
    """Serial text is matched without colour codes and CRs, read incrementally."""

    def test_control_sequences_removed(self):
        raw = b"\x1b[0;1miPXE 1.0.0\x1b[0m -- Open\r\n\x1b[2J\x1b[01;01HDone\r\n"
        self.assertEqual(qemu.clean_console(raw), "iPXE 1.0.0 -- Open\nDone\n")

    def test_incremental_reads_and_counting(self):
        vm = qemu.VM("seabios-virtio", scratch(self), "tap7")
        with open(vm.serial_path, "wb") as f:
            f.write(b"Filename: undionly.kpxe\r\n")
        self.assertEqual(vm.read_serial(), "Filename: undionly.kpxe\n")
        with open(vm.serial_path, "ab") as f:
            f.write(b"Filename: undionly.kpxe\r\n")
        self.assertEqual(vm.read_serial(), "Filename: undionly.kpxe\n")
        self.assertEqual(vm.read_serial(), "")
        self.assertEqual(vm.count(r"^Filename: undionly"), 2)


if __name__ == "__main__":
    testing.main()
