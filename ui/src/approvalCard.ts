/**
 * One pending approval as the queue shows it. Every string field is agent-supplied
 * and therefore hostile: render it as text only.
 */
export interface ApprovalCard {
  id: string;
  topic: string;
  requester: string;
  rule: string;
  reason: string;
  riskTags: readonly string[];
  jobHash: string;
}
