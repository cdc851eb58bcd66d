import type { ApprovalCard } from "./bindings/ApprovalCard";
import { AppHeader } from "./components/AppHeader";
import { Queue } from "./components/Queue";
import { StatusLine } from "./components/StatusLine";

// The backend does not deliver approvals to the UI yet, so the queue is always empty.
const NO_APPROVALS: readonly ApprovalCard[] = [];

export function App() {
  return (
    <div className="app">
      <AppHeader />
      <main className="app-main">
        <Queue items={NO_APPROVALS} />
      </main>
      <footer className="app-footer">
        <StatusLine />
      </footer>
    </div>
  );
}
