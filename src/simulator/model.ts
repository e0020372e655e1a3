// JSON shapes of the simulated resources, with the field names the Go client (cx) decodes
// (cloud66-oss/cloud66: stack.go, server.go, service.go, container.go, backups.go, async.go,
// account.go, user.go).

export interface StackJson {
  uid: string
  name: string
  git: string
  git_branch: string
  environment: string
  cloud: string
  fqdn: string
  language: string
  framework: string
  status: number
  health: number
  maintenance_mode: boolean
  has_loadbalancer: boolean
  /** A secret, token-bearing absolute URL: the proxy must pass it through untouched. */
  redeploy_hook: string
  last_activity: string
  last_activity_iso: string
  created_at: string
  created_at_iso: string
  updated_at: string
  updated_at_iso: string
  deploy_directory: string
  backend: string
  version: string
  revision: string
  namespaces: string[]
  account_id: number
  account_name: string
  is_cluster: boolean
  is_inside_cluster: boolean
  cluster_name: string
  application_address: string
  configstore_namespace: string
}

export interface ServerJson {
  uid: string
  vendor_uid: string
  name: string
  address: string
  ext_ipv4: string
  distro: string
  distro_version: string
  dns_record: string
  server_type: string
  server_group_id: number
  server_roles: string[]
  stack_uid: string
  has_agent: boolean
  params: Record<string, string>
  created_at: string
  updated_at: string
  region: string
  availability_zone: string
  health_state: number
  user_name: string
  personal_key: boolean
  is_kubernetes_master: boolean
}

export interface ContainerJson {
  uid: string
  name: string
  server_uid: string
  server_name: string
  service_name: string
  image: string
  command: string
  ports: { container: number; http: number; https: number }[]
  private_ip: string
  docker_ip: string
  health_state: number
  started_at: string
  created_at: string
  updated_at: string
}

export interface ServiceJson {
  name: string
  containers: ContainerJson[]
  source_type: string
  git_ref: string
  image_name: string
  image_uid: string
  image_tag: string
  command: string
  build_command: string
  deploy_command: string
  wrap_command: string
  desired_count: number
}

export interface DeploymentJson {
  id: number
  user: string
  git_ref: string
  git_hash: string
  branch_head: string
  commit_url: string
  triggered_by: string
  deployment_type: string
  started_at: string
  finished_at: string | null
  status: string
  is_head: boolean
}

export interface EnvVarJson {
  id: number
  key: string
  value: string
  readonly: boolean
  is_password: boolean
  created_at_iso: string
  updated_at_iso: string
  history: { value: string; created_at_iso: string; updated_at_iso: string }[]
}

export interface BackupFileJson {
  id: string
  name: string
}

export interface BackupJson {
  id: number
  server_uid: string
  file_name: string
  db_type: string
  database_name: string
  file_base: string
  backup_date_iso: string
  backup_status: number
  backup_result: string
  restore_status: number
  restore_result: string
  created_at_iso: string
  updated_at_iso: string
  verify_status: number
  verify_result: string
  storage_path: string
  skip_tables: string
  logical_backup: boolean
}

export interface ActionJson {
  id: number
  user: string
  resource_type: string
  action: string
  resource_id: string
  started_via: string
  started_at: string
  finished_at: string | null
  finished_success: boolean | null
  finished_message: string | null
  finished_result: string | null
  metadata: { user_reference: string | null }
}

export interface AccountJson {
  id: number
  owner: string
  friendly_name: string
  stack_count: number
  used_clouds: string[]
  created_at: string
  updated_at: string
  current_account: boolean
  server_registration_script: string
  unmanaged_servers: { vendor: string; id: string }[]
}

export interface UserJson {
  id: number
  email: string
  primary_account_id: number
  locked: boolean
  access_profile: { account_role: string; can_create_stack: boolean; can_admin_users: boolean }
  uses_tfa: boolean
  timezone: string
  has_valid_phone: boolean
  developer_program: boolean
  github_login: boolean
  last_login: string
  devices: unknown[]
  created_at: string
  updated_at: string
}
