import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { DeleteTenantDialog } from "./DeleteTenantDialog";

function open(onDelete = vi.fn(async () => undefined), onClose = vi.fn()) {
  render(<DeleteTenantDialog tenantName="Acme Corp" onDelete={onDelete} onClose={onClose} />);
  return { onDelete, onClose };
}

describe("Delete tenant confirmation", () => {
  it("keeps Delete disabled until the exact tenant name is typed", async () => {
    const { onDelete } = open();
    const dialog = screen.getByRole("dialog", { name: "Delete tenant" });
    const input = screen.getByLabelText("Type the tenant name to confirm");
    const remove = screen.getByRole("button", { name: "Delete" });
    expect(dialog).toContainElement(input);
    expect(remove).toBeDisabled();

    await userEvent.type(input, "acme corp");
    expect(remove).toBeDisabled();
    await userEvent.type(input, "{Enter}");
    expect(onDelete).not.toHaveBeenCalled();

    await userEvent.clear(input);
    await userEvent.type(input, "Acme Corp");
    expect(remove).toBeEnabled();
    await userEvent.click(remove);
    expect(onDelete).toHaveBeenCalledTimes(1);
  });

  it("makes the page behind it inert while it is open, and only then", () => {
    const behind = document.createElement("p");
    document.body.append(behind);
    const { unmount } = render(
      <DeleteTenantDialog
        tenantName="Acme Corp"
        onDelete={async () => undefined}
        onClose={() => undefined}
      />,
    );
    expect(behind).toHaveAttribute("inert");
    expect(screen.getByRole("dialog").closest("[inert]")).toBeNull();
    unmount();
    expect(behind).not.toHaveAttribute("inert");
    behind.remove();
  });

  it("moves focus into the dialog, keeps Tab inside it and closes on Escape", async () => {
    const { onClose } = open();
    const input = screen.getByLabelText("Type the tenant name to confirm");
    expect(input).toHaveFocus();
    // Delete is disabled, so Cancel is the last stop; Tab from it wraps to the input.
    await userEvent.tab();
    expect(screen.getByRole("button", { name: "Cancel" })).toHaveFocus();
    await userEvent.tab();
    expect(input).toHaveFocus();
    await userEvent.keyboard("{Escape}");
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it("shows why a delete failed and lets the operator try again", async () => {
    const onDelete = vi.fn(async () => {
      throw new Error("The catalog is unavailable.");
    });
    open(onDelete);
    await userEvent.type(screen.getByLabelText("Type the tenant name to confirm"), "Acme Corp");
    await userEvent.click(screen.getByRole("button", { name: "Delete" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The catalog is unavailable.");
    expect(screen.getByRole("button", { name: "Delete" })).toBeEnabled();
  });
});
