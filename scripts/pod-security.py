#!/usr/bin/env python3
"""Checks every pod template in Kubernetes manifests against the Pod Security Standards'
"restricted" profile (which includes "baseline"), offline: the apiserver that the tests run
(1.20) has no PodSecurity admission, and on a real cluster the check is a namespace label.

    pod-security.py FILE...      exit 0 when every pod template passes, else 1 with one
                                 line per violation: file, object, field, what is wrong

The rules are those of https://kubernetes.io/docs/concepts/security/pod-security-standards/
(policy version 1.33), field by field.
"""
import sys

import yaml

# Where each kind keeps its pod spec.
POD_SPEC_PATHS = {
    "Pod": ["spec"],
    "Deployment": ["spec", "template", "spec"],
    "StatefulSet": ["spec", "template", "spec"],
    "DaemonSet": ["spec", "template", "spec"],
    "ReplicaSet": ["spec", "template", "spec"],
    "Job": ["spec", "template", "spec"],
    "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret",
}
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def dig(value, path):
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def check_pod(spec):
    """The violations of one pod spec, as (field, problem)."""
    found = []
    pod_sc = spec.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            found.append((field, "must not be true"))
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if "hostPath" in kinds:
            found.append((f"volumes[{volume.get('name')}]", "hostPath volumes are forbidden"))
        elif not kinds <= RESTRICTED_VOLUMES:
            found.append((f"volumes[{volume.get('name')}]", f"volume type {sorted(kinds)} is not allowed"))
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append(("securityContext.sysctls", f"{sysctl.get('name')} is not a safe sysctl"))
    found += check_common("securityContext", pod_sc)
    pod_non_root = pod_sc.get("runAsNonRoot")
    pod_seccomp = dig(pod_sc, ["seccompProfile", "type"])
    containers = []
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(group) or []:
            containers.append((f"{group}[{c.get('name')}]", c))
    for where, c in containers:
        sc = c.get("securityContext") or {}
        found += check_common(f"{where}.securityContext", sc)
        if sc.get("privileged"):
            found.append((f"{where}.securityContext.privileged", "must not be true"))
        if sc.get("procMount", "Default") != "Default":
            found.append((f"{where}.securityContext.procMount", "must be Default"))
        for port in c.get("ports") or []:
            if port.get("hostPort"):
                found.append((f"{where}.ports", f"hostPort {port['hostPort']} is forbidden"))
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append((f"{where}.securityContext.allowPrivilegeEscalation", "must be false"))
        non_root = sc.get("runAsNonRoot", pod_non_root)
        if non_root is not True:
            found.append((f"{where}.securityContext.runAsNonRoot", "must be true (here or for the pod)"))
        seccomp = dig(sc, ["seccompProfile", "type"]) or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append((f"{where}.securityContext.seccompProfile.type",
                          "must be RuntimeDefault or Localhost (here or for the pod)"))
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            found.append((f"{where}.securityContext.capabilities.drop", "must include ALL"))
        for cap in caps.get("add") or []:
            if cap != "NET_BIND_SERVICE":
                found.append((f"{where}.securityContext.capabilities.add", f"{cap} may not be added"))
    return found


def check_common(where, sc):
    """What the pod's and each container's security context must both satisfy."""
    found = []
    if sc.get("runAsUser") == 0:
        found.append((f"{where}.runAsUser", "must not be 0 (root)"))
    if dig(sc, ["seccompProfile", "type"]) == "Unconfined":
        found.append((f"{where}.seccompProfile.type", "must not be Unconfined"))
    if dig(sc, ["windowsOptions", "hostProcess"]):
        found.append((f"{where}.windowsOptions.hostProcess", "must not be true"))
    selinux = sc.get("seLinuxOptions") or {}
    if selinux.get("type", "") not in SELINUX_TYPES:
        found.append((f"{where}.seLinuxOptions.type", f"{selinux.get('type')} is not allowed"))
    if selinux.get("user") or selinux.get("role"):
        found.append((f"{where}.seLinuxOptions", "user and role must not be set"))
    if dig(sc, ["appArmorProfile", "type"]) not in (None, "RuntimeDefault", "Localhost"):
        found.append((f"{where}.appArmorProfile.type", "must be RuntimeDefault or Localhost"))
    for cap in dig(sc, ["capabilities", "add"]) or []:
        if cap not in BASELINE_CAPABILITIES:
            found.append((f"{where}.capabilities.add", f"{cap} is beyond the baseline"))
    return found


def main(files):
    violations, templates = [], 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            documents = list(yaml.safe_load_all(f))
        for doc in documents:
            if not isinstance(doc, dict) or doc.get("kind") not in POD_SPEC_PATHS:
                continue
            spec = dig(doc, POD_SPEC_PATHS[doc["kind"]])
            if not isinstance(spec, dict):
                continue
            templates += 1
            name = f"{doc['kind']}/{dig(doc, ['metadata', 'name'])}"
            violations += [f"{path}: {name}: {field}: {problem}" for field, problem in check_pod(spec)]
    for line in violations:
        print(line)
    if violations:
        print(f"pod security (restricted): {len(violations)} violations in {templates} pod templates")
        return 1
    if not templates:
        print("pod security (restricted): no pod template found")
        return 1
    print(f"pod security (restricted): {templates} pod templates pass")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: pod-security.py FILE...", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
