// Tasks (MCP 2025-11-25): a task lives at the backend that created it and is
// visible only to the session that created it. Task ids are kept as the
// backend made them; this registry routes tasks/* requests back.

import type { Backend } from "../backends/backend.ts";
import { InvalidParams } from "../errors.ts";
import type { Session } from "../session/session.ts";

type Owner = { backend: Backend; session: Session };

export class Tasks {
  private readonly owners = new Map<string, Owner>();

  /** Notes the task a result created, if it is a CreateTaskResult. */
  record(result: Record<string, unknown>, backend: Backend, session: Session): void {
    const task = result.task as { taskId?: unknown } | undefined;
    if (typeof task?.taskId !== "string") return;
    this.owners.set(task.taskId, { backend, session });
    session.onclose.push(() => this.owners.delete(task.taskId as string));
  }

  /** The backend holding a task of this session's; unknown to any other session. */
  backendFor(session: Session, taskId: unknown): Backend {
    const owner = typeof taskId === "string" ? this.owners.get(taskId) : undefined;
    if (!owner || owner.session !== session) throw new InvalidParams(`Invalid params: unknown task ${String(taskId)}`);
    return owner.backend;
  }

  ownerOf(taskId: unknown): Session | undefined {
    return typeof taskId === "string" ? this.owners.get(taskId)?.session : undefined;
  }

  /** Task ids of this session, for filtering tasks/list answers. */
  idsOf(session: Session): Set<string> {
    const ids = new Set<string>();
    for (const [id, o] of this.owners) if (o.session === session) ids.add(id);
    return ids;
  }
}
