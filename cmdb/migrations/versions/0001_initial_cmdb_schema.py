"""initial CMDB schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cmdb.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=6), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_key", sa.String(length=255), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=1000), nullable=True),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'delete', 'import')",
            name=op.f("ck_audit_entry_action_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_entry_entity_key", ["entity", "entity_key"], unique=False)

    op.create_table(
        "control_point",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("responsible", sa.String(length=500), nullable=True),
        sa.Column("evidence", sa.String(length=500), nullable=True),
        sa.Column("control_level", sa.String(length=16), nullable=True),
        sa.Column("recurrence", sa.String(length=9), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("due_day", sa.Integer(), nullable=True),
        sa.Column("due_month", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(recurrence = 'once' AND due_date IS NOT NULL) OR (recurrence IN ('monthly', 'quarterly') AND due_day IS NOT NULL  AND valid_from IS NOT NULL AND valid_until IS NOT NULL) OR (recurrence = 'yearly' AND due_day IS NOT NULL AND due_month IS NOT NULL  AND valid_from IS NOT NULL AND valid_until IS NOT NULL)",
            name=op.f("ck_control_point_schedule_complete"),
        ),
        sa.CheckConstraint(
            "recurrence IN ('once', 'monthly', 'quarterly', 'yearly')",
            name=op.f("ck_control_point_recurrence_valid"),
        ),
        sa.CheckConstraint(
            "due_day IS NULL OR (due_day BETWEEN 1 AND 31)",
            name=op.f("ck_control_point_due_day_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_point")),
        sa.UniqueConstraint("code", name=op.f("uq_control_point_code")),
    )
    op.create_table(
        "indicator",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("base_value", sa.Numeric(precision=16, scale=4), nullable=True),
        sa.Column("base_date", sa.Date(), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("fact_query", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator")),
        sa.UniqueConstraint("code", name=op.f("uq_indicator_code")),
    )
    op.create_table(
        "maintenance_window",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("objects", sa.JSON(), nullable=False),
        sa.Column("starts_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_maintenance_window_window_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_window")),
        sa.UniqueConstraint("key", name=op.f("uq_maintenance_window_key")),
    )
    op.create_table(
        "region",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region")),
        sa.UniqueConstraint("code", name=op.f("uq_region_code")),
    )
    op.create_table(
        "district",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["region.id"],
            name=op.f("fk_district_region_id_region"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district")),
        sa.UniqueConstraint("code", name=op.f("uq_district_code")),
    )
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_district_region_id"), ["region_id"], unique=False)

    op.create_table(
        "organization",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("short_name", sa.String(length=255), nullable=False),
        sa.Column("full_name", sa.String(length=1000), nullable=False),
        sa.Column("frmo_oid", sa.String(length=128), nullable=True),
        sa.Column("inn", sa.String(length=12), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("contact", sa.String(length=500), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('mo', 'miac', 'provider', 'contractor', 'authority', 'other')",
            name=op.f("ck_organization_kind_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_organization_district_id_district"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
        sa.UniqueConstraint("code", name=op.f("uq_organization_code")),
    )
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_district_id"), ["district_id"], unique=False
        )
        batch_op.create_index("uq_organization_frmo_oid", ["frmo_oid"], unique=True)

    op.create_table(
        "site",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=14), nullable=False),
        sa.Column("address", sa.String(length=1000), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('dc_primary', 'dc_reserve', 'dc_test', 'mo_main', 'mo_unit', 'fap', 'fp', 'ambulance', 'other')",
            name=op.f("ck_site_kind_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'active', 'decommissioned')", name=op.f("ck_site_status_valid")
        ),
        sa.CheckConstraint(
            "latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name=op.f("ck_site_latitude_range")
        ),
        sa.CheckConstraint(
            "longitude IS NULL OR (longitude BETWEEN -180 AND 180)",
            name=op.f("ck_site_longitude_range"),
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_site_district_id_district"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_site_organization_id_organization"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
        sa.UniqueConstraint("code", name=op.f("uq_site_code")),
    )
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_district_id"), ["district_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_site_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "vipnet_network",
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("admin_organization_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "number BETWEEN 1 AND 65535", name=op.f("ck_vipnet_network_number_range")
        ),
        sa.ForeignKeyConstraint(
            ["admin_organization_id"],
            ["organization.id"],
            name=op.f("fk_vipnet_network_admin_organization_id_organization"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vipnet_network")),
        sa.UniqueConstraint("number", name=op.f("uq_vipnet_network_number")),
    )
    with op.batch_alter_table("vipnet_network", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vipnet_network_admin_organization_id"),
            ["admin_organization_id"],
            unique=False,
        )

    op.create_table(
        "attestation",
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=15), nullable=False),
        sa.Column("object_name", sa.String(length=500), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('attestation', 'reattestation', 'periodic_control')",
            name=op.f("ck_attestation_kind_valid"),
        ),
        sa.CheckConstraint(
            "scope IN ('regional_system', 'dc_segment', 'mo_segment')",
            name=op.f("ck_attestation_scope_valid"),
        ),
        sa.CheckConstraint("valid_until > issued_on", name=op.f("ck_attestation_validity_order")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_attestation_organization_id_organization"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_attestation_site_id_site"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestation")),
        sa.UniqueConstraint("number", name=op.f("uq_attestation_number")),
    )
    with op.batch_alter_table("attestation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attestation_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_attestation_site_id"), ["site_id"], unique=False)

    op.create_table(
        "device",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=18), nullable=False),
        sa.Column("vendor", sa.String(length=100), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("mgmt_address", sa.String(length=64), nullable=True),
        sa.Column("snmp_profile", sa.String(length=64), nullable=True),
        sa.Column("serial", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=14), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('router', 'switch', 'server', 'vipnet_coordinator', 'firewall', 'ups', 'other')",
            name=op.f("ck_device_role_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'active', 'maintenance', 'offline', 'decommissioned')",
            name=op.f("ck_device_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_device_site_id_site"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
        sa.UniqueConstraint("name", name=op.f("uq_device_name")),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_site_id"), ["site_id"], unique=False)

    op.create_table(
        "channel",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("contract_number", sa.String(length=100), nullable=True),
        sa.Column("contract_date", sa.Date(), nullable=True),
        sa.Column("bandwidth_mbps", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("medium", sa.String(length=9), nullable=False),
        sa.Column("a_site_id", sa.Integer(), nullable=False),
        sa.Column("a_device_id", sa.Integer(), nullable=True),
        sa.Column("a_interface", sa.String(length=64), nullable=True),
        sa.Column("a_address", sa.String(length=64), nullable=True),
        sa.Column("z_site_id", sa.Integer(), nullable=False),
        sa.Column("z_device_id", sa.Integer(), nullable=True),
        sa.Column("z_interface", sa.String(length=64), nullable=True),
        sa.Column("z_address", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=7), nullable=False),
        sa.Column("redundancy_group", sa.String(length=64), nullable=True),
        sa.Column("sla_target_pct", sa.Numeric(precision=6, scale=3), nullable=True),
        sa.Column("status", sa.String(length=14), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "medium IN ('fiber', 'copper', 'lte', 'satellite', 'radio')",
            name=op.f("ck_channel_medium_valid"),
        ),
        sa.CheckConstraint("role IN ('primary', 'backup')", name=op.f("ck_channel_role_valid")),
        sa.CheckConstraint(
            "status IN ('planned', 'active', 'suspended', 'decommissioned')",
            name=op.f("ck_channel_status_valid"),
        ),
        sa.CheckConstraint(
            "bandwidth_mbps IS NULL OR bandwidth_mbps > 0",
            name=op.f("ck_channel_bandwidth_positive"),
        ),
        sa.CheckConstraint(
            "sla_target_pct IS NULL OR (sla_target_pct > 0 AND sla_target_pct <= 100)",
            name=op.f("ck_channel_sla_range"),
        ),
        sa.ForeignKeyConstraint(
            ["a_device_id"],
            ["device.id"],
            name=op.f("fk_channel_a_device_id_device"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["a_site_id"], ["site.id"], name=op.f("fk_channel_a_site_id_site"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["organization.id"],
            name=op.f("fk_channel_provider_id_organization"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["z_device_id"],
            ["device.id"],
            name=op.f("fk_channel_z_device_id_device"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["z_site_id"], ["site.id"], name=op.f("fk_channel_z_site_id_site"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel")),
        sa.UniqueConstraint("key", name=op.f("uq_channel_key")),
    )
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_a_device_id"), ["a_device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_channel_a_site_id"), ["a_site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_channel_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_channel_redundancy_group"), ["redundancy_group"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_channel_z_device_id"), ["z_device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_channel_z_site_id"), ["z_site_id"], unique=False)

    op.create_table(
        "vipnet_node",
        sa.Column("vipnet_id", sa.String(length=10), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=11), nullable=False),
        sa.Column("software_version", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("keys_issued_on", sa.Date(), nullable=True),
        sa.Column("keys_valid_until", sa.Date(), nullable=True),
        sa.Column("certificate_valid_until", sa.Date(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('coordinator', 'client')", name=op.f("ck_vipnet_node_kind_valid")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_vipnet_node_device_id_device"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["vipnet_network.id"],
            name=op.f("fk_vipnet_node_network_id_vipnet_network"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vipnet_node")),
        sa.UniqueConstraint("device_id", name=op.f("uq_vipnet_node_device_id")),
        sa.UniqueConstraint("vipnet_id", name=op.f("uq_vipnet_node_vipnet_id")),
    )
    with op.batch_alter_table("vipnet_node", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vipnet_node_network_id"), ["network_id"], unique=False)

    op.create_table(
        "workstation",
        sa.Column("hostname", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("inventory_number", sa.String(length=64), nullable=True),
        sa.Column("os", sa.String(length=100), nullable=True),
        sa.Column("protected_network", sa.Boolean(), nullable=False),
        sa.Column("vipnet_node_id", sa.Integer(), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_workstation_site_id_site"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["vipnet_node_id"],
            ["vipnet_node.id"],
            name=op.f("fk_workstation_vipnet_node_id_vipnet_node"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workstation")),
        sa.UniqueConstraint("hostname", name=op.f("uq_workstation_hostname")),
        sa.UniqueConstraint("vipnet_node_id", name=op.f("uq_workstation_vipnet_node_id")),
    )
    with op.batch_alter_table("workstation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workstation_site_id"), ["site_id"], unique=False)
        batch_op.create_index("uq_workstation_inventory_number", ["inventory_number"], unique=True)


def downgrade() -> None:

    with op.batch_alter_table("workstation", schema=None) as batch_op:
        batch_op.drop_index("uq_workstation_inventory_number")
        batch_op.drop_index(batch_op.f("ix_workstation_site_id"))

    op.drop_table("workstation")
    with op.batch_alter_table("vipnet_node", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vipnet_node_network_id"))

    op.drop_table("vipnet_node")
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_z_site_id"))
        batch_op.drop_index(batch_op.f("ix_channel_z_device_id"))
        batch_op.drop_index(batch_op.f("ix_channel_redundancy_group"))
        batch_op.drop_index(batch_op.f("ix_channel_provider_id"))
        batch_op.drop_index(batch_op.f("ix_channel_a_site_id"))
        batch_op.drop_index(batch_op.f("ix_channel_a_device_id"))

    op.drop_table("channel")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_site_id"))

    op.drop_table("device")
    with op.batch_alter_table("attestation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attestation_site_id"))
        batch_op.drop_index(batch_op.f("ix_attestation_organization_id"))

    op.drop_table("attestation")
    with op.batch_alter_table("vipnet_network", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vipnet_network_admin_organization_id"))

    op.drop_table("vipnet_network")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_organization_id"))
        batch_op.drop_index(batch_op.f("ix_site_district_id"))

    op.drop_table("site")
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_index("uq_organization_frmo_oid")
        batch_op.drop_index(batch_op.f("ix_organization_district_id"))

    op.drop_table("organization")
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_district_region_id"))

    op.drop_table("district")
    op.drop_table("region")
    op.drop_table("maintenance_window")
    op.drop_table("indicator")
    op.drop_table("control_point")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_entity_key")
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))

    op.drop_table("audit_entry")
