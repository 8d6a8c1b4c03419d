// The shapes the API answers (GET /openapi.json: TicketSummary, Ticket, Conversation, ...).
export type TicketSummary = {
  id: string;
  direction: string;
  channel: string;
  customer_id: string;
  customer_name: string | null;
  customer_address: string | null;
  status: string;
  category: string | null;
  topic: string | null;
  priority: string;
  assignee: string | null;
  subject: string | null;
  created_at: string;
  first_response_at: string | null;
  resolved_at: string | null;
  flags: string[];
  our_client: boolean;
  difficulty: number | null;
  response_due: string | null;
};

export type TicketPage = { tickets: TicketSummary[]; next_cursor: string | null };

export type Clock = {
  state: "running" | "paused" | "met" | "stopped";
  due: string | null;
  warned_at: string | null;
  breached_at: string | null;
  met_at: string | null;
};

export type Call = {
  call_direction?: string;
  from_number?: string;
  to_number?: string;
  started_at?: string;
  answered_at?: string;
  ended_at?: string;
  status?: string;
  duration_seconds?: number;
  talk_seconds?: number;
  agent?: string;
  recording_url?: string;
  timeline?: [string, string, string][];
  problem_threshold_seconds?: number;
};

export type Ticket = TicketSummary & {
  version: number;
  updated_at: string;
  priority_reason: string | null;
  external_task_url: string | null;
  hold_reason: string | null;
  resolution: string | null;
  closed_at: string | null;
  sla: Record<string, Clock>;
  call: Call | null;
  call_review: { verdict: string; note: string | null; by: string; at: string } | null;
  waiting_on_client: boolean;
};

export type Attachment = {
  kind?: string;
  file_id?: string; // s3://… for a mail attachment the intake stored (downloadable)
  file_name?: string | null;
  caption?: string | null;
  mime_type?: string | null;
  size?: number | null; // bytes (e-mail)
  note?: string | null; // why it is kept only in the original (e-mail)
};
// What an e-mail message keeps of its headers (issue 21).
export type MailDetails = { subject?: string; flagged?: string; no_auto_reply?: string; problems?: string[] };

export type Message = {
  id: string;
  kind: "inbound" | "reply" | "comment" | "auto" | "notice";
  author: string;
  text: string;
  at: string;
  channel: string;
  delivery: string | null;
  attachments: Attachment[];
  error: string | null;
  last_error: string | null;
  edited: boolean;
  buttons: { label?: string; data?: string }[];
  email?: MailDetails | null;
};

export type HistoryEntry = {
  id: string;
  at: string;
  actor: string;
  action: string;
  changes: Record<string, [unknown, unknown]>;
  note: string | null;
};

export type Conversation = { ticket: Ticket; messages: Message[]; history: HistoryEntry[] };

export type Callback = TicketSummary & {
  missed_at: string;
  call_back_by: string;
  attempts: number;
  escalated: boolean;
  meant_for: string | null;
  client_number: string | null;
};

export type Customer = {
  id: string;
  name: string | null;
  phone: string | null;
  groups: string[];
  identities: string[];
  created_at: string;
  version: number;
};

export type CustomerView = { customer: Customer; tickets: TicketSummary[]; history: HistoryEntry[] };

// Incident notices (GET /broadcasts, GET /broadcasts/{id}).
export type Severity = "red" | "yellow" | "green";

export type NoticePost = {
  revision: number;
  kind: "started" | "update" | "resolved";
  text: Record<string, string>;
  eta: string | null;
  at: string;
  by: string;
};

/** How far one revision has gone out in one channel (pending: queued, not yet sent or failed). */
export type DeliveryCounts = {
  queued: number;
  sent: number;
  failed: number;
  skipped: number;
  pending: number;
  /** every direction's fan-out of this revision and channel closed (the API's notice sweep) */
  done?: boolean;
};

export type Notice = {
  id: string;
  severity: Severity;
  colour: string;
  state: "active" | "resolved";
  directions: string[];
  channels: string[];
  text: Record<string, string>;
  eta: string | null;
  started_at: string;
  updated_at: string;
  resolved_at: string | null;
  created_by: string;
  revision: number;
  version: number;
  resolve_linked: boolean;
  posts: NoticePost[];
  /** Only in GET /broadcasts/{id}: {revision: {channel: counts}}; a revision or a channel
   * nobody has been counted for yet is absent. */
  delivery?: Record<string, Record<string, DeliveryCounts>>;
};
