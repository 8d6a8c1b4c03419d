// #/kb in the main bundle: the knowledge base page (writing, editing, publishing articles)
// is fetched only when it is opened, as the reports page is.
import { t } from "../i18n";
import { lazyPage } from "./lazy";

export const KnowledgeBaseRoute = lazyPage(
  () => import("./KnowledgeBase").then((module) => module.KnowledgeBase),
  () => t("nav_kb"),
  () => t("kb_loading"),
);
