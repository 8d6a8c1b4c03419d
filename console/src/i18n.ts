// Russian and English. Russian is the default; the choice is kept in localStorage.
import { useEffect, useState } from "preact/hooks";

export type Lang = "ru" | "en";

const en = {
  app_title: "Helpdesk console",
  skip_to_main: "Skip to the main content",
  nav_queue: "Queue",
  nav_callbacks: "Callbacks",
  language: "Language",
  sign_out: "Sign out",
  signed_in_as: "Signed in as {user} ({roles})",
  // sign-in
  sign_in: "Sign in",
  sign_in_title: "Sign in to the console",
  sign_in_local_note:
    "Local stack: pick a user id and a role; the stack issues a development token (what make token prints).",
  sign_in_oidc_note: "You will be sent to the company sign-in page and back.",
  user_id: "User id",
  role: "Role",
  role_agent: "agent",
  role_lead: "lead",
  session_expired: "Your session has expired. Sign in again to go back to where you were.",
  signing_in: "Signing in…",
  // queue
  queue_title: "Queue",
  direction: "Direction",
  status: "Status",
  assignee: "Assignee",
  assignee_any: "anyone",
  assignee_me: "mine",
  assignee_none: "unassigned",
  assignee_user: "user id…",
  assignee_user_id: "Assignee's user id",
  category: "Category",
  priority: "Priority",
  channel: "Channel",
  flag: "Flag",
  sort: "Order",
  sort_created: "newest first",
  sort_created_asc: "oldest first",
  sort_due: "by deadline",
  any: "any",
  apply: "Show",
  next_page: "Next page",
  prev_page: "Previous page",
  first_page: "First page",
  page_n: "Page {n}",
  no_tickets: "No tickets match.",
  ticket: "Ticket",
  subject: "Subject",
  client: "Client",
  due: "Answer by",
  created: "Created",
  breached: "overdue",
  our_client: "our client",
  updated_at: "Refreshed at {time}",
  refresh_failed: "Could not refresh: {message}",
  loading: "Loading…",
  // ticket
  back_to_queue: "Back to the queue",
  reload: "Reload",
  conversation: "Conversation",
  no_messages: "No written messages.",
  reopen_to_reply: "The ticket is resolved or closed: reopen it to reply.",
  buttons: "Buttons the client saw",
  no_reply_channel: "Nothing written reaches this client: call them back and leave a comment.",
  history: "History",
  details: "Details",
  sla: "Deadlines",
  sla_first_response: "first response",
  sla_next_response: "next response",
  sla_resolution: "resolution",
  sla_state_running: "running",
  sla_state_paused: "paused",
  sla_state_met: "met",
  sla_state_stopped: "stopped",
  sla_due: "due {time}",
  sla_warned: "warned {time}",
  sla_breached: "breached {time}",
  sla_met: "met {time}",
  no_sla: "No deadlines on this ticket.",
  kind_inbound: "client",
  kind_reply: "agent",
  kind_comment: "internal comment",
  kind_auto: "automatic",
  kind_notice: "staff notice",
  delivery: "Delivery",
  delivery_queued: "queued",
  delivery_sending: "sending",
  delivery_sent: "sent",
  delivery_delivered: "delivered",
  delivery_read: "read",
  delivery_failed: "failed",
  attachment: "Attachment",
  version: "version {n}",
  topic: "Topic",
  difficulty: "Difficulty",
  difficulty_1: "1 (easy)",
  difficulty_2: "2",
  difficulty_3: "3 (hard)",
  unchanged: "—",
  customer: "Customer",
  flags: "Flags",
  task: "Task",
  resolution_text: "Resolution",
  waiting_on_client: "waiting for the client",
  // actions
  reply: "Reply to the client",
  reply_text: "Reply",
  wait_for_client: "Wait for the client (the reply asks them something)",
  send: "Send",
  comment: "Internal comment",
  comment_text: "Comment",
  add_comment: "Add comment",
  assign: "Assign",
  assign_to: "Assignee's user id (empty: unassign)",
  assign_to_me: "Take it",
  assign_save: "Assign",
  fields: "Category and priority",
  save: "Save",
  hold: "Hold for a task",
  task_url: "Task link",
  hold_reason: "Why it waits",
  put_on_hold: "Put on hold",
  resolve: "Resolve",
  resolution: "What was done (sent to the client)",
  close: "Close",
  close_ticket: "Close the ticket",
  reopen: "Reopen",
  reopen_reason: "Why",
  ctrl_enter: "Ctrl+Enter sends",
  conflict:
    "Someone else changed this ticket while you were on it. It has been reloaded; your text is kept — check and send again.",
  done: "Done.",
  // calls
  call: "Call",
  call_timeline: "Call timeline",
  duration: "Duration",
  talk_time: "Talk time",
  recording: "Recording",
  no_recording: "no recording yet",
  problem_call: "problem call (over {limit})",
  call_review: "Problem-call verdict",
  verdict: "Verdict",
  verdict_ok: "ok",
  verdict_coaching: "coaching",
  verdict_escalate: "escalate",
  note: "Note",
  record_verdict: "Record the verdict",
  reviewed: "Verdict: {verdict} by {by}, {at}",
  // callbacks
  callbacks_title: "Missed calls to call back",
  missed_at: "Missed at",
  call_back_by: "Call back by",
  attempts: "Attempts",
  escalated: "escalated",
  meant_for: "Meant for",
  client_number: "Number",
  no_callbacks: "Nobody is waiting for a callback.",
  // customer
  customer_title: "Customer",
  name: "Name",
  phone: "Phone",
  groups: "Groups",
  groups_hint: "Separated by spaces or commas, e.g. our_clients",
  identities: "Identities",
  tickets: "Tickets",
  // history actions
  action_create: "opened",
  action_reply: "replied",
  action_comment: "commented",
  action_assign: "assigned",
  action_update: "changed",
  action_hold: "put on hold",
  action_resolve: "resolved",
  action_close: "closed",
  action_reopen: "reopened",
  action_call_review: "reviewed the call",
  action_delivery_failed: "delivery failed",
  // errors
  error_network: "The server could not be reached. Nothing was lost; try again.",
  not_found: "Not found.",
  page_not_found: "No such page.",
};

export type Key = keyof typeof en;

const ru: Record<Key, string> = {
  app_title: "Консоль поддержки",
  skip_to_main: "К основному содержимому",
  nav_queue: "Очередь",
  nav_callbacks: "Перезвонить",
  language: "Язык",
  sign_out: "Выйти",
  signed_in_as: "Вы вошли как {user} ({roles})",
  sign_in: "Войти",
  sign_in_title: "Вход в консоль",
  sign_in_local_note:
    "Локальный стенд: выберите пользователя и роль; стенд выдаст токен разработчика (как make token).",
  sign_in_oidc_note: "Вы перейдёте на страницу входа компании и вернётесь обратно.",
  user_id: "Пользователь",
  role: "Роль",
  role_agent: "агент",
  role_lead: "руководитель",
  session_expired: "Сеанс истёк. Войдите снова, чтобы вернуться туда, где были.",
  signing_in: "Входим…",
  queue_title: "Очередь",
  direction: "Направление",
  status: "Статус",
  assignee: "Исполнитель",
  assignee_any: "любой",
  assignee_me: "мои",
  assignee_none: "без исполнителя",
  assignee_user: "пользователь…",
  assignee_user_id: "Пользователь-исполнитель",
  category: "Категория",
  priority: "Приоритет",
  channel: "Канал",
  flag: "Отметка",
  sort: "Порядок",
  sort_created: "сначала новые",
  sort_created_asc: "сначала старые",
  sort_due: "по сроку ответа",
  any: "любой",
  apply: "Показать",
  next_page: "Следующая страница",
  prev_page: "Предыдущая страница",
  first_page: "Первая страница",
  page_n: "Страница {n}",
  no_tickets: "Нет подходящих обращений.",
  ticket: "Обращение",
  subject: "Тема",
  client: "Клиент",
  due: "Ответить до",
  created: "Создано",
  breached: "просрочено",
  our_client: "наш клиент",
  updated_at: "Обновлено в {time}",
  refresh_failed: "Не удалось обновить: {message}",
  loading: "Загрузка…",
  back_to_queue: "Назад к очереди",
  reload: "Обновить",
  conversation: "Переписка",
  no_messages: "Сообщений нет.",
  reopen_to_reply: "Обращение решено или закрыто: чтобы ответить, откройте его снова.",
  buttons: "Кнопки, которые видел клиент",
  no_reply_channel: "Письменный ответ до клиента не дойдёт: перезвоните и оставьте комментарий.",
  history: "История",
  details: "Сведения",
  sla: "Сроки",
  sla_first_response: "первый ответ",
  sla_next_response: "следующий ответ",
  sla_resolution: "решение",
  sla_state_running: "идёт",
  sla_state_paused: "на паузе",
  sla_state_met: "выполнен",
  sla_state_stopped: "остановлен",
  sla_due: "до {time}",
  sla_warned: "предупреждение {time}",
  sla_breached: "нарушен {time}",
  sla_met: "выполнен {time}",
  no_sla: "У обращения нет сроков.",
  kind_inbound: "клиент",
  kind_reply: "агент",
  kind_comment: "внутренний комментарий",
  kind_auto: "автоматически",
  kind_notice: "уведомление сотрудникам",
  delivery: "Доставка",
  delivery_queued: "в очереди",
  delivery_sending: "отправляется",
  delivery_sent: "отправлено",
  delivery_delivered: "доставлено",
  delivery_read: "прочитано",
  delivery_failed: "не доставлено",
  attachment: "Вложение",
  version: "версия {n}",
  topic: "Тема обращения",
  difficulty: "Сложность",
  difficulty_1: "1 (просто)",
  difficulty_2: "2",
  difficulty_3: "3 (сложно)",
  unchanged: "—",
  customer: "Клиент",
  flags: "Отметки",
  task: "Задача",
  resolution_text: "Решение",
  waiting_on_client: "ждём клиента",
  reply: "Ответ клиенту",
  reply_text: "Ответ",
  wait_for_client: "Ждать клиента (в ответе вопрос к нему)",
  send: "Отправить",
  comment: "Внутренний комментарий",
  comment_text: "Комментарий",
  add_comment: "Добавить комментарий",
  assign: "Назначить",
  assign_to: "Пользователь-исполнитель (пусто — снять)",
  assign_to_me: "Взять себе",
  assign_save: "Назначить",
  fields: "Категория и приоритет",
  save: "Сохранить",
  hold: "Отложить до задачи",
  task_url: "Ссылка на задачу",
  hold_reason: "Почему ждём",
  put_on_hold: "Отложить",
  resolve: "Решить",
  resolution: "Что сделано (уйдёт клиенту)",
  close: "Закрыть",
  close_ticket: "Закрыть обращение",
  reopen: "Открыть снова",
  reopen_reason: "Причина",
  ctrl_enter: "Ctrl+Enter — отправить",
  conflict:
    "Пока вы работали, обращение изменил кто-то другой. Оно перезагружено, ваш текст сохранён — проверьте и отправьте снова.",
  done: "Готово.",
  call: "Звонок",
  call_timeline: "Ход звонка",
  duration: "Длительность",
  talk_time: "Разговор",
  recording: "Запись",
  no_recording: "записи пока нет",
  problem_call: "проблемный звонок (дольше {limit})",
  call_review: "Решение по проблемному звонку",
  verdict: "Решение",
  verdict_ok: "всё в порядке",
  verdict_coaching: "нужно обучение",
  verdict_escalate: "эскалировать",
  note: "Заметка",
  record_verdict: "Сохранить решение",
  reviewed: "Решение: {verdict}, {by}, {at}",
  callbacks_title: "Пропущенные звонки: перезвонить",
  missed_at: "Пропущен",
  call_back_by: "Перезвонить до",
  attempts: "Попыток",
  escalated: "эскалирован",
  meant_for: "Кому звонили",
  client_number: "Номер",
  no_callbacks: "Перезвонить никому не нужно.",
  customer_title: "Клиент",
  name: "Имя",
  phone: "Телефон",
  groups: "Группы",
  groups_hint: "Через пробел или запятую, например our_clients",
  identities: "Каналы связи",
  tickets: "Обращения",
  action_create: "открыто",
  action_reply: "ответ",
  action_comment: "комментарий",
  action_assign: "назначено",
  action_update: "изменено",
  action_hold: "отложено",
  action_resolve: "решено",
  action_close: "закрыто",
  action_reopen: "открыто снова",
  action_call_review: "решение по звонку",
  action_delivery_failed: "не доставлено",
  error_network: "Сервер недоступен. Ничего не потеряно, попробуйте ещё раз.",
  not_found: "Не найдено.",
  page_not_found: "Такой страницы нет.",
};

// Values of the API's enums, shown in the agent's language.
const enumsRu: Record<string, string> = {
  new: "новое",
  open: "в работе",
  on_hold: "отложено",
  resolved: "решено",
  closed: "закрыто",
  question: "вопрос",
  suggestion: "предложение",
  problem: "проблема",
  complaint: "жалоба",
  feedback: "отзыв",
  low: "низкий",
  normal: "обычный",
  high: "высокий",
  urgent: "срочный",
  telegram: "Telegram",
  whatsapp: "WhatsApp",
  phone: "телефон",
  manual: "вручную",
  sandbox: "песочница",
  needs_callback: "перезвонить",
  missed_call: "пропущенный звонок",
  problem_call: "проблемный звонок",
  delivery_failed: "не доставлено",
};
const enumsEn: Record<string, string> = {
  on_hold: "on hold",
  needs_callback: "needs callback",
  missed_call: "missed call",
  problem_call: "problem call",
  delivery_failed: "delivery failed",
  telegram: "Telegram",
  whatsapp: "WhatsApp",
};

const dictionaries: Record<Lang, Record<Key, string>> = { ru, en };
const STORAGE_KEY = "helpdesk.lang";
const listeners = new Set<() => void>();

function initial(): Lang {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === "ru" || saved === "en") return saved;
  } catch {
    /* storage may be off: Russian */
  }
  return "ru";
}

let current: Lang = initial();

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    /* not kept; still switched */
  }
  document.documentElement.lang = next;
  listeners.forEach((listener) => listener());
}

export function t(key: Key, values: Record<string, string | number> = {}): string {
  const text = dictionaries[current][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? `{${name}}`));
}

/** An API enum value (status, category, channel, flag) in the agent's language. */
export function term(value: string | null | undefined): string {
  if (!value) return "—";
  const table = current === "ru" ? enumsRu : enumsEn;
  return table[value] ?? value;
}

/** Re-render a component when the language changes. */
export function useLang(): Lang {
  const [value, setValue] = useState(current);
  useEffect(() => {
    const listener = () => setValue(current);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return value;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** A UTC ISO time from the API, in the browser's zone and the agent's language. */
export function when(iso: string | null | undefined, withDate = true): string {
  if (!iso) return "—";
  const key = `${current}:${withDate}`;
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(current === "ru" ? "ru-RU" : "en-GB", {
      ...(withDate ? { day: "numeric", month: "short" } : {}),
      hour: "2-digit",
      minute: "2-digit",
    });
    formats.set(key, format);
  }
  return format.format(new Date(iso));
}

/** Hours, minutes and seconds: when a list was last refreshed. */
export function clockTime(iso: string): string {
  return new Date(iso).toLocaleTimeString(current === "ru" ? "ru-RU" : "en-GB");
}

export function seconds(total: number | null | undefined): string {
  if (total === null || total === undefined) return "—";
  const minutes = Math.floor(total / 60);
  return `${minutes}:${String(total % 60).padStart(2, "0")}`;
}
