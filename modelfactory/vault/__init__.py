"""The platform's side of the PaymentVault contract: vault accounts, deposit crediting and withdrawal
vouchers."""
