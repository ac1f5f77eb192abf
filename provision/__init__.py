"""Provisioning: the Ansible inventory from the CMDB, playbook runs (ansible-runner), the gate."""
