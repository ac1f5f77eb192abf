"""Provisioning: the Ansible inventory from the CMDB, playbook runs through ansible-runner, gating."""
